//! A compiled `workflow!` whose steps call an MCP server's tools through `mcp_call`.

use std::time::Duration;

use workflow::prelude::*;
use workflow_mcp::{McpServer, McpTools, mcp_call};

/// How many of the names are given.
#[tool]
async fn count(names: serde_json::Value) -> Result<u64, ToolError> {
    Ok(names.as_array().map_or(0, |n| n.len() as u64))
}

workflow! {
    /// Ask the server for its environment's names, and count them.
    pub census() {
        env = mcp_call(server: "odd", tool: "env", arguments: { serde_json::json!({}) });
        total = count(names: <<env.names>>);
        refused = mcp_call(server: "odd", tool: "fail", arguments: { serde_json::json!({ "why": "testing" }) }) depends total on_error skip;
    }
}

#[tokio::test]
async fn compiled_steps_call_an_mcp_servers_tools() {
    let odd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/odd.py");
    let server = McpServer::stdio("odd", "python3", [odd, "ok"])
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let servers = McpTools::new([server]);
    let run = census().run(&servers).await.unwrap();
    assert!(run.total >= 3, "PATH, HOME and LANG at least: {}", run.total);
    assert_eq!(run.env["names"].as_array().map(|n| n.len() as u64), Some(run.total));
    let refused = run.record.step("refused").unwrap();
    assert_eq!(refused.status, StepStatus::Failed);
    assert!(
        refused.error.as_deref().unwrap().contains("MCP server `odd`, tool `fail`: refused: testing"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_unknown_server_is_named() {
    let servers = McpTools::default();
    let err = census().run(&servers).await.unwrap_err();
    assert!(err.to_string().contains("no MCP server `odd` among the workflow's ()"), "{err}");
}
