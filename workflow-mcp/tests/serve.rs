//! Workflows served over MCP, listed and called by rmcp's own client (in the same process, over
//! an in-memory pipe): one MCP tool per workflow, its schemas, structured content, and nothing of
//! the intermediate results.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};
use workflow::prelude::*;
use workflow_mcp::McpService;
use workflow_runtime::WorkflowTemplate;

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct User {
    pub name: String,
    pub email: String,
}

/// Look a user up by id.
#[tool(read_only = true)]
async fn lookup(id: String) -> Result<User, ToolError> {
    match id.as_str() {
        "u1" => Ok(User { name: "Ada".into(), email: "ada@example.com".into() }),
        _ => Err(ToolError::permanent(format!("no user `{id}`"))),
    }
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Greeting {
    pub text: String,
}

/// Write a greeting.
#[tool(read_only = true)]
async fn greet(name: String) -> Result<Greeting, ToolError> {
    Ok(Greeting { text: format!("Hello, {name}!") })
}

fn service(with_tools: bool) -> McpService<()> {
    let mut tools = ToolRegistry::new(());
    tools.register::<lookup>().unwrap().register::<greet>().unwrap();
    let text = "/// Greet a user by id.\nwelcome(id: String) {\n    user = lookup(id: <<id>>);\n    hello = greet(name: <<user.name>>);\n}\n";
    let template = WorkflowTemplate::from_dsl(text).unwrap().remove(0);
    let service = McpService::new("test", tools).workflow(template).unwrap();
    if with_tools { service.with_tools() } else { service }
}

#[tokio::test]
async fn a_served_workflow_is_listed_and_called_by_rmcps_client() {
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move { service(false).serve(server_end).await.unwrap().waiting().await });
    let client = ().serve(client_end).await.unwrap();

    let tools = client.peer().list_all_tools().await.unwrap();
    assert_eq!(tools.iter().map(|t| t.name.as_ref()).collect::<Vec<_>>(), ["welcome"], "only the workflow");
    let welcome = &tools[0];
    assert_eq!(welcome.description.as_deref(), Some("Greet a user by id."));
    assert_eq!(
        Value::Object((*welcome.input_schema).clone()),
        json!({
            "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"]
        })
    );
    let output = Value::Object((**welcome.output_schema.as_ref().unwrap()).clone());
    assert_eq!(output["required"], json!(["hello"]));
    assert_eq!(output["properties"]["hello"]["properties"]["text"]["type"], "string");
    let hints = welcome.annotations.as_ref().map(|a| (a.idempotent_hint, a.read_only_hint));
    assert_eq!(hints, Some((Some(true), Some(true))), "its tools' own: idempotent and read only");

    let args = json!({ "id": "u1" }).as_object().unwrap().clone();
    let result =
        client.peer().call_tool(CallToolRequestParams::new("welcome").with_arguments(args)).await.unwrap();
    assert_eq!(result.is_error, Some(false));
    assert_eq!(result.structured_content, Some(json!({ "hello": { "text": "Hello, Ada!" } })));
    let text = result.content[0].as_text().unwrap().text.clone();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({ "hello": { "text": "Hello, Ada!" } }));
    assert!(!text.contains("ada@example.com"), "the intermediate result stays in the workflow");

    let args = json!({ "id": "u9" }).as_object().unwrap().clone();
    let failed =
        client.peer().call_tool(CallToolRequestParams::new("welcome").with_arguments(args)).await.unwrap();
    assert_eq!(failed.is_error, Some(true));
    assert!(failed.content[0].as_text().unwrap().text.contains("no user `u9`"));
    client.cancel().await.unwrap();
    let _ = server.await;
}

#[tokio::test]
async fn with_tools_the_registrys_tools_are_served_beside_the_workflows() {
    let service = service(true);
    let names: Vec<String> = service.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["welcome", "greet", "lookup"]);
    let greeted = service.call("greet", json!({ "name": "Grace" }).as_object().unwrap().clone()).await;
    assert_eq!(greeted.structured_content, Some(json!({ "text": "Hello, Grace!" })));
    let missing = service.call("nope", serde_json::Map::new()).await;
    assert_eq!(missing.is_error, Some(true));
}

#[test]
fn a_workflow_calling_an_unknown_tool_is_not_served() {
    let template = WorkflowTemplate::from_dsl("w(x: String) { a = nope(v: <<x>>); }").unwrap().remove(0);
    let err = McpService::new("test", ToolRegistry::new(())).workflow(template).err().unwrap();
    assert!(err.to_string().starts_with("workflow `w` cannot be served:"), "{err}");
    assert!(err.to_string().contains("unknown tool `nope`"), "{err}");
}

#[tokio::test]
async fn a_served_workflow_over_streamable_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(workflow_mcp::serve_http(service(false), listener, stop.clone()));

    // Our own client over HTTP: the workflow as a registry's tool.
    let remote = workflow_mcp::McpServer::http("served", &url).connect().await.unwrap();
    let mut tools = ToolRegistry::new(());
    remote.register(&mut tools, "remote_").unwrap();
    let answer = tools.call("remote_welcome", json!({ "id": "u1" })).await.unwrap();
    assert_eq!(answer, json!({ "hello": { "text": "Hello, Ada!" } }));
    drop(tools);
    drop(remote);
    stop.cancel();
    server.await.unwrap().unwrap();
}
