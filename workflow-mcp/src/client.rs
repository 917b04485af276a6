//! Steps that call MCP servers' tools: [`McpServer`] connects to a server, [`McpClient`] lists
//! its tools and registers them in a [`ToolRegistry`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, Tool};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};
use workflow_runtime::toolbox::BoxFuture;
use workflow_runtime::{DuplicateTool, DynTool, Hints, ToolDefinition, ToolError, ToolRegistry};

use crate::McpError;

/// The environment variables a server's child process gets by default (the rest of the user's
/// environment, tokens and keys among it, is cleared).
pub const DEFAULT_ENV: &[&str] = &["PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT"];

/// How long a call, and the connection's handshake, may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
enum Transport {
    Stdio { program: String, args: Vec<String>, dir: Option<PathBuf> },
    Http { url: String },
}

/// An MCP server to connect to: a child process over stdio, or a URL over streamable HTTP.
#[derive(Debug, Clone)]
pub struct McpServer {
    name: String,
    transport: Transport,
    inherit: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl McpServer {
    /// The server `program args…`, run as a child process speaking MCP on its stdin and stdout.
    /// `name` names it in errors. Its environment is cleared but for [`DEFAULT_ENV`].
    pub fn stdio<A: Into<String>>(name: &str, program: &str, args: impl IntoIterator<Item = A>) -> Self {
        McpServer {
            name: name.to_owned(),
            transport: Transport::Stdio {
                program: program.to_owned(),
                args: args.into_iter().map(Into::into).collect(),
                dir: None,
            },
            inherit: DEFAULT_ENV.iter().map(|v| (*v).to_owned()).collect(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The server at `url` (`http://127.0.0.1:3001/mcp`), over MCP's streamable HTTP.
    pub fn http(name: &str, url: &str) -> Self {
        McpServer {
            name: name.to_owned(),
            transport: Transport::Http { url: url.to_owned() },
            inherit: Vec::new(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Passes the variable `key` of this process's environment on to the server (a child
    /// process's; nothing for a server over HTTP).
    #[must_use]
    pub fn inherit_env(mut self, key: &str) -> Self {
        self.inherit.push(key.to_owned());
        self
    }

    /// Sets the variable `key` to `value` in the server's environment.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the server in `dir` (a child process's).
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Transport::Stdio { dir: slot, .. } = &mut self.transport {
            *slot = Some(dir.into());
        }
        self
    }

    /// How long the handshake and each call may take.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the server (or reaches it), does MCP's handshake and lists its tools.
    pub async fn connect(self) -> Result<McpClient, McpError> {
        let name = self.name.clone();
        let (handshake, pid) = match &self.transport {
            Transport::Stdio { program, args, dir } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).env_clear().kill_on_drop(true);
                for key in &self.inherit {
                    if let Some(value) = std::env::var_os(key) {
                        command.env(key, value);
                    }
                }
                command.envs(self.env.iter().map(|(k, v)| (k, v)));
                if let Some(dir) = dir {
                    command.current_dir(dir);
                }
                let (transport, _stderr) = TokioChildProcess::builder(command)
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(|e| McpError::Start {
                        server: name.clone(),
                        message: format!("cannot start `{program}`: {e}"),
                    })?;
                let pid = transport.id();
                (tokio::time::timeout(self.timeout, ().serve(transport)).await, pid)
            }
            Transport::Http { url } => {
                let transport = StreamableHttpClientTransport::from_uri(url.clone());
                (tokio::time::timeout(self.timeout, ().serve(transport)).await, None)
            }
        };
        let timed_out = |what: &str| McpError::Timeout {
            server: name.clone(),
            what: what.to_owned(),
            after: self.timeout,
        };
        let service = handshake
            .map_err(|_| timed_out("the handshake"))?
            .map_err(|e| McpError::Start { server: name.clone(), message: e.to_string() })?;
        let tools = tokio::time::timeout(self.timeout, service.peer().list_all_tools())
            .await
            .map_err(|_| timed_out("`tools/list`"))?
            .map_err(|e| McpError::Protocol { server: name.clone(), message: e.to_string() })?;
        Ok(McpClient { inner: Arc::new(Inner { name, service, timeout: self.timeout, pid }), tools })
    }
}

struct Inner {
    name: String,
    service: RunningService<RoleClient, ()>,
    timeout: Duration,
    pid: Option<u32>,
}

/// A connected MCP server and its tools. Cloning shares the connection; the server's process
/// ends when the last clone (and every tool registered from it) is dropped.
#[derive(Clone)]
pub struct McpClient {
    inner: Arc<Inner>,
    tools: Vec<Tool>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.inner.name)
            .field("tools", &self.tools.iter().map(|t| t.name.as_ref()).collect::<Vec<_>>())
            .finish()
    }
}

impl McpClient {
    /// The server's name, as given.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The server's child process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.inner.pid
    }

    /// The server's tools, as it listed them.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// A tool's definition for a registry: name, description, input and output schemas.
    pub fn definition(tool: &Tool) -> ToolDefinition {
        let output =
            tool.output_schema.as_ref().map_or_else(|| Value::Bool(true), |s| Value::Object((**s).clone()));
        ToolDefinition {
            name: tool.name.to_string(),
            description: tool.description.as_deref().unwrap_or_default().to_owned(),
            input_schema: schemars::Schema::from((*tool.input_schema).clone()),
            output_schema: schemars::Schema::try_from(output)
                .unwrap_or_else(|_| schemars::Schema::from(true)),
        }
    }

    /// Calls the tool `name` with `args` (a JSON object), within the server's timeout. Its
    /// output is its structured content when it gives one; otherwise its text, read as JSON
    /// when it is JSON (a list of them for several blocks).
    pub async fn call(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        let server = &self.inner.name;
        let arguments: Map<String, Value> = match args {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(ToolError::permanent(format!(
                    "the arguments of `{name}` must be an object, not {other}"
                )));
            }
        };
        let request = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        let call = self.inner.service.peer().call_tool(request);
        match tokio::time::timeout(self.inner.timeout, call).await {
            Err(_) => Err(ToolError::retryable(format!(
                "MCP server `{server}` did not answer `{name}` within {:?}",
                self.inner.timeout
            ))
            .with_class("timeout")),
            Ok(Err(e)) => Err(ToolError::permanent(format!("MCP server `{server}` failed on `{name}`: {e}"))),
            Ok(Ok(result)) => output(server, name, result),
        }
    }

    /// Registers every tool of the server in `registry` under its own name, or with `prefix`
    /// before it; fails on a name the registry has already. A tool whose annotations say it is
    /// not idempotent (`idempotentHint: false`, the default for a tool that is not read-only)
    /// is registered so.
    pub fn register<S: Send + Sync + 'static>(
        &self,
        registry: &mut ToolRegistry<S>,
        prefix: &str,
    ) -> Result<(), DuplicateTool> {
        for tool in &self.tools {
            let mut definition = Self::definition(tool);
            definition.name = format!("{prefix}{}", definition.name);
            let hints = tool.annotations.as_ref().map_or_else(Hints::default, |a| Hints {
                idempotent: a.idempotent_hint == Some(true),
                read_only: a.read_only_hint == Some(true),
            });
            let remote = Arc::new(Remote { client: self.clone(), tool: tool.name.to_string() });
            registry.register_dyn(definition, hints, remote)?;
        }
        Ok(())
    }
}

/// One tool of a server, as a registry calls it.
struct Remote {
    client: McpClient,
    tool: String,
}

impl DynTool for Remote {
    fn call(&self, args: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        Box::pin(self.client.call(&self.tool, args))
    }
}

/// The text of a result's content blocks.
fn texts(content: &[ContentBlock]) -> Vec<String> {
    content.iter().filter_map(|block| block.as_text().map(|t| t.text.clone())).collect()
}

/// A result as a step's output, or its `isError` as a tool error: retryable when its text
/// says the failure is passing (a timeout, a rate limit, a service unavailable).
fn output(server: &str, tool: &str, result: CallToolResult) -> Result<Value, ToolError> {
    let texts = texts(&result.content);
    if result.is_error == Some(true) {
        let message = if texts.is_empty() { "no message".to_owned() } else { texts.join("\n") };
        let lower = message.to_lowercase();
        let passing = ["timeout", "timed out", "rate limit", "temporarily", "unavailable", "try again"];
        let text = format!("MCP server `{server}`, tool `{tool}`: {message}");
        return Err(if passing.iter().any(|p| lower.contains(p)) {
            ToolError::retryable(text)
        } else {
            ToolError::permanent(text)
        });
    }
    if let Some(structured) = result.structured_content {
        return Ok(structured);
    }
    let mut values: Vec<Value> =
        texts.into_iter().map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))).collect();
    Ok(match values.len() {
        0 => Value::Null,
        1 => values.remove(0),
        _ => Value::Array(values),
    })
}
