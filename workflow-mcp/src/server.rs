//! Workflows served as MCP tools: [`McpService`] lists one MCP tool per workflow (its input
//! schema from the workflow's inputs, its output schema from what it returns) and, if asked, the
//! registry's own tools; a call runs the workflow with the registry's tools and answers what the
//! workflow returns — the outputs of its last steps, as structured content and as text. The
//! intermediate results stay in the workflow.

use std::sync::Arc;

use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Map, Value, json};
use workflow_runtime::validate::InputType;
use workflow_runtime::{ToolRegistry, Toolbox, WorkflowExecutor, WorkflowTemplate};

/// A workflow served as one MCP tool.
#[derive(Debug, Clone)]
struct Served {
    template: WorkflowTemplate,
    /// The steps no other step needs: what a call answers.
    returned: Vec<String>,
    tool: Tool,
}

/// An MCP server of workflows (and, with [`with_tools`](Self::with_tools), of the tools they
/// call), over any rmcp transport: `service.serve(rmcp::transport::stdio())`.
pub struct McpService<S> {
    tools: Arc<ToolRegistry<S>>,
    workflows: Vec<Served>,
    serve_tools: bool,
    name: String,
}

impl<S> Clone for McpService<S> {
    fn clone(&self) -> Self {
        McpService {
            tools: self.tools.clone(),
            workflows: self.workflows.clone(),
            serve_tools: self.serve_tools,
            name: self.name.clone(),
        }
    }
}

/// Why a workflow cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// It breaks the rules, or calls a tool the registry does not have.
    #[error("workflow `{name}` cannot be served: {problems}")]
    Invalid {
        /// The workflow.
        name: String,
        /// What is wrong.
        problems: String,
    },
    /// Two workflows, or a workflow and a served tool, have one name.
    #[error("two MCP tools would be named `{0}`")]
    Duplicate(String),
}

/// The JSON schema of a declared input's type.
fn input_schema(ty: &InputType) -> Value {
    match ty {
        InputType::Text => json!({ "type": "string" }),
        InputType::Integer => json!({ "type": "integer" }),
        InputType::Unsigned => json!({ "type": "integer", "minimum": 0 }),
        InputType::Number => json!({ "type": "number" }),
        InputType::Bool => json!({ "type": "boolean" }),
        InputType::List(item) => json!({ "type": "array", "items": input_schema(item) }),
        InputType::Map => json!({ "type": "object" }),
        InputType::Optional(inner) => input_schema(inner),
        InputType::Any => json!({}),
    }
}

fn object(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

impl<S: Send + Sync + 'static> McpService<S> {
    /// A server named `name` whose workflows call `tools`.
    pub fn new(name: &str, tools: ToolRegistry<S>) -> Self {
        McpService {
            tools: Arc::new(tools),
            workflows: Vec::new(),
            serve_tools: false,
            name: name.to_owned(),
        }
    }

    /// Serves the registry's tools too, each as itself.
    #[must_use]
    pub fn with_tools(mut self) -> Self {
        self.serve_tools = true;
        self
    }

    /// Serves `template` as an MCP tool of its name. It is checked against the registry's tools
    /// first.
    pub fn workflow(mut self, template: WorkflowTemplate) -> Result<Self, ServeError> {
        let name = template.name.clone();
        let invalid = |problems: String| ServeError::Invalid { name: name.clone(), problems };
        let checked = workflow_runtime::validate::validate(&template, &*self.tools)
            .map_err(|p| invalid(p.to_string()))?;
        let returned: Vec<String> = (template.steps.iter().zip(checked.graph.returned()))
            .filter(|(_, returned)| *returned)
            .map(|(step, _)| step.step_id.clone())
            .collect();
        if self.workflows.iter().any(|w| w.template.name == name) {
            return Err(ServeError::Duplicate(name));
        }

        // Inputs: declared ones with their types (required unless `Option`), or the names it reads.
        let (properties, required): (Map<String, Value>, Vec<String>) = match &checked.inputs {
            Some(inputs) => (
                inputs.iter().map(|(n, ty)| (n.clone(), input_schema(ty))).collect(),
                inputs
                    .iter()
                    .filter(|(_, ty)| !matches!(ty, InputType::Optional(_)))
                    .map(|(n, _)| n.clone())
                    .collect(),
            ),
            None => (
                checked.implicit_inputs.iter().map(|n| (n.clone(), json!({}))).collect(),
                checked.implicit_inputs.clone(),
            ),
        };
        let input = json!({ "type": "object", "properties": properties, "required": required });
        // Output: an object of the returned steps, each its tool's output schema.
        let outputs: Map<String, Value> = returned
            .iter()
            .map(|step| {
                let tool = &template.steps[checked.index[step]].tool_name;
                let schema =
                    self.tools.definition(tool).map_or(json!({}), |d| d.output_schema.as_value().clone());
                (step.clone(), schema)
            })
            .collect();
        let output = json!({ "type": "object", "properties": outputs, "required": returned });
        let description = if template.description.is_empty() {
            format!("The workflow `{name}`.")
        } else {
            template.description.clone()
        };
        let mut tool = Tool::new(name.clone(), description, object(input));
        tool.output_schema = Some(object(output));
        let idempotent = template.steps.iter().all(|s| self.tools.idempotent(&s.tool_name));
        let read_only = template.steps.iter().all(|s| self.tools.read_only(&s.tool_name));
        tool.annotations =
            Some(ToolAnnotations::from_raw(None, Some(read_only), None, Some(idempotent), None));
        self.workflows.push(Served { template, returned, tool });
        Ok(self)
    }

    /// Every MCP tool served.
    pub fn tools(&self) -> Vec<Tool> {
        let mut tools: Vec<Tool> = self.workflows.iter().map(|w| w.tool.clone()).collect();
        if self.serve_tools {
            for definition in self.tools.definitions() {
                if self.workflows.iter().any(|w| w.template.name == definition.name) {
                    continue;
                }
                let mut tool = Tool::new(
                    definition.name.clone(),
                    definition.description.clone(),
                    object(definition.input_schema.as_value().clone()),
                );
                // MCP's output schemas are objects; other outputs are answered as text only.
                let output = definition.output_schema.as_value();
                if output.get("type") == Some(&Value::from("object")) {
                    tool.output_schema = Some(object(output.clone()));
                }
                let idempotent = self.tools.idempotent(&definition.name);
                let read_only = self.tools.read_only(&definition.name);
                tool.annotations =
                    Some(ToolAnnotations::from_raw(None, Some(read_only), None, Some(idempotent), None));
                tools.push(tool);
            }
        }
        tools
    }

    /// Answers a call of the MCP tool `name`.
    pub async fn call(&self, name: &str, arguments: Map<String, Value>) -> CallToolResult {
        if let Some(served) = self.workflows.iter().find(|w| w.template.name == name) {
            let run = WorkflowExecutor::new()
                .execute(&served.template, &*self.tools, Value::Object(arguments))
                .await;
            return match run {
                Ok(run) => {
                    let returned: Map<String, Value> = served
                        .returned
                        .iter()
                        .filter_map(|s| run.context.get_result(s).map(|v| (s.clone(), v.clone())))
                        .collect();
                    answer(Value::Object(returned), true)
                }
                Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
            };
        }
        if !self.serve_tools {
            return CallToolResult::error(vec![ContentBlock::text(format!("no tool `{name}` is served"))]);
        }
        match self.tools.call(name, Value::Object(arguments)).await {
            Ok(output) => {
                let structured = self
                    .tools
                    .definition(name)
                    .is_some_and(|d| d.output_schema.as_value().get("type") == Some(&Value::from("object")));
                answer(output, structured)
            }
            Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        }
    }
}

/// A successful answer: the output as text (JSON), and as structured content when it is an
/// object the tool's output schema describes.
fn answer(output: Value, structured: bool) -> CallToolResult {
    let text = match &output {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    if structured && output.is_object() {
        result.structured_content = Some(output);
    }
    result
}

impl<S: Send + Sync + 'static> ServerHandler for McpService<S> {
    fn get_info(&self) -> InitializeResult {
        let capabilities = ServerCapabilities::builder().enable_tools().build();
        InitializeResult::new(capabilities)
            .with_server_info(Implementation::new(self.name.clone(), env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult { meta: None, next_cursor: None, tools: self.tools() })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.call(&request.name, request.arguments.unwrap_or_default()).await)
    }
}

/// Serves `service` over MCP's streamable HTTP at `/mcp` on `listener`, until `stop` is
/// cancelled. Only requests whose `Host` is `localhost`, `127.0.0.1` or `::1` are answered
/// (rmcp's guard against DNS rebinding); put a reverse proxy in front to serve others.
pub async fn serve_http<S: Send + Sync + 'static>(
    service: McpService<S>,
    listener: tokio::net::TcpListener,
    stop: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = stop.child_token();
    let http = StreamableHttpService::new(
        move || Ok(service.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", http);
    axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await
}
