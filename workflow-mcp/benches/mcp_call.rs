//! Per-call latency of an MCP tool registered in a `ToolRegistry` (through `workflow-mcp`),
//! against calling the same server with bare rmcp, side by side: server-everything's `echo`
//! over stdio, one child process each. Needs `npm ci --prefix tests/mcp`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::json;
use workflow_mcp::McpServer;
use workflow_runtime::ToolRegistry;

fn entry() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(path.exists(), "run `npm ci --prefix tests/mcp` first");
    path.to_string_lossy().into_owned()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let entry = entry();
    let (bare, tools) = runtime.block_on(async {
        let mut command = tokio::process::Command::new("node");
        command.arg(&entry).arg("stdio");
        let (transport, _) =
            TokioChildProcess::builder(command).stderr(std::process::Stdio::null()).spawn().unwrap();
        let bare = ().serve(transport).await.unwrap();
        let server =
            McpServer::stdio("everything", "node", [entry.as_str(), "stdio"]).connect().await.unwrap();
        let mut tools = ToolRegistry::new(());
        server.register(&mut tools, "").unwrap();
        (bare, tools)
    });
    let mut group = c.benchmark_group("mcp echo");
    group.bench_function("bare rmcp", |b| {
        b.to_async(&runtime).iter(|| async {
            let args = json!({ "message": "hi" }).as_object().unwrap().clone();
            bare.peer().call_tool(CallToolRequestParams::new("echo").with_arguments(args)).await.unwrap()
        })
    });
    group.bench_function("registered tool", |b| {
        b.to_async(&runtime).iter(|| async { tools.call("echo", json!({ "message": "hi" })).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
