//! [`mcp_call`]: a tool that calls a tool of an MCP server, for `workflow!` steps, whose tools
//! are known when the program compiles: `files = mcp_call(server: "files", tool: "read_text_file",
//! arguments: { serde_json::json!({ "path": "/srv/notes/a.md" }) });`. Its output is a
//! `serde_json::Value`, whose fields later steps read when they run (`<<files.content>>`).

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::Value;
use workflow_runtime::{CallTool, FromRef, Tool, ToolError};

use crate::McpClient;

/// The MCP servers `mcp_call` steps reach, by name: part of a workflow's state, taken with
/// [`FromRef`].
#[derive(Clone, Debug, Default)]
pub struct McpTools {
    servers: Arc<BTreeMap<String, McpClient>>,
}

impl McpTools {
    /// These connected servers, by their names.
    pub fn new(servers: impl IntoIterator<Item = McpClient>) -> Self {
        McpTools { servers: Arc::new(servers.into_iter().map(|s| (s.name().to_owned(), s)).collect()) }
    }

    /// The server named `name`.
    pub fn get(&self, name: &str) -> Option<&McpClient> {
        self.servers.get(name)
    }
}

/// Calls the tool `tool` of the MCP server `server` (one of the workflow's [`McpTools`]) with
/// `arguments`, a JSON object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_camel_case_types)]
pub struct mcp_call {
    /// The server's name.
    pub server: String,
    /// The tool's name, as the server lists it.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
}

impl JsonSchema for mcp_call {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "mcp_call".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let fields = vec![
            ("server", generator.subschema_for::<String>()),
            ("tool", generator.subschema_for::<String>()),
            ("arguments", generator.subschema_for::<Value>()),
        ];
        workflow_runtime::schema::object_schema(<Self as Tool>::DESCRIPTION, fields, true)
    }
}

impl Tool for mcp_call {
    type Output = Value;
    const NAME: &'static str = "mcp_call";
    const DESCRIPTION: &'static str = "Call a tool of an MCP server with JSON arguments; returns its result.";
    // Whether a tool of a server is idempotent is the server's to say; a step that retries one
    // is warned about at compile time.
    const IDEMPOTENT: bool = false;

    fn arguments_json(&self) -> Value {
        serde_json::json!({ "server": self.server, "tool": self.tool, "arguments": self.arguments })
    }
}

impl<S: Sync> CallTool<S> for mcp_call
where
    McpTools: FromRef<S>,
{
    async fn call(self, state: &S) -> Result<Value, ToolError> {
        let servers = McpTools::from_ref(state);
        let Some(server) = servers.get(&self.server) else {
            let known: Vec<&str> = servers.servers.keys().map(String::as_str).collect();
            return Err(ToolError::permanent(format!(
                "no MCP server `{}` among the workflow's ({})",
                self.server,
                known.join(", ")
            )));
        };
        server.call(&self.tool, self.arguments).await
    }
}
