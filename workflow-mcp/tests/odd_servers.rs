//! Servers that misbehave: each gives a clear error naming it within the timeout, none hangs a
//! call, none sees the user's environment, and none outlives the tools registered from it.

use std::time::{Duration, Instant};

use serde_json::json;
use workflow_mcp::{McpError, McpServer};
use workflow_runtime::{CallError, ToolRegistry};

const ODD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/odd.py");

fn odd(mode: &str) -> McpServer {
    McpServer::stdio(&format!("odd-{mode}"), "python3", [ODD, mode]).timeout(Duration::from_secs(2))
}

/// Whether a process with this id is alive (not a zombie either).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

#[tokio::test]
async fn a_server_sees_only_the_environment_it_is_given() {
    // SAFETY of the test: the variable is set before any server starts.
    unsafe { std::env::set_var("WORKFLOW_TEST_SECRET_TOKEN", "s3cr3t") };
    let server = odd("ok").env("MEMORY_FILE_PATH", "/tmp/x").connect().await.unwrap();
    let names = server.call("env", json!({})).await.unwrap();
    let names: Vec<&str> = names["names"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(!names.contains(&"WORKFLOW_TEST_SECRET_TOKEN"), "{names:?}");
    assert!(names.contains(&"MEMORY_FILE_PATH") && names.contains(&"PATH"), "{names:?}");
    // Nothing else of this process's environment: what the server has beyond what it was
    // given, its launcher set (a pyenv shim sets `PYENV_*`, a shell `PWD` and `SHLVL`).
    let given = ["PATH", "HOME", "LANG", "TMPDIR", "MEMORY_FILE_PATH"];
    let launcher =
        |n: &str| n.starts_with("PYENV") || n.starts_with("_PYENV") || ["PWD", "SHLVL", "_"].contains(&n);
    let leaked: Vec<&&str> = names
        .iter()
        .filter(|n| !given.contains(n) && !launcher(n) && std::env::var_os(n).is_some())
        .collect();
    assert!(leaked.is_empty(), "the server saw {leaked:?}");
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some() && !names.contains(&"CARGO_MANIFEST_DIR"));
}

#[tokio::test]
async fn is_error_is_a_tool_failure_and_the_tools_are_registered_with_their_schemas() {
    let server = odd("ok").connect().await.unwrap();
    let mut tools = ToolRegistry::new(());
    server.register(&mut tools, "odd_").unwrap();
    let env = tools.definition("odd_env").unwrap();
    assert_eq!(env.description, "The names of this server's environment variables.");
    assert_eq!(env.output_schema.as_value()["required"], json!(["names"]));
    let err = tools.call("odd_fail", json!({ "why": "not today" })).await.unwrap_err();
    let CallError::Tool { source, .. } = &err else { panic!("{err}") };
    assert_eq!(source.message(), "MCP server `odd-ok`, tool `fail`: refused: not today");
    assert!(!source.is_retryable());
    assert!(server.register(&mut tools, "odd_").is_err(), "a name registered twice");
}

#[tokio::test]
async fn a_server_that_crashes_mid_call_is_an_error_naming_it() {
    let server = odd("crash").connect().await.unwrap();
    let started = Instant::now();
    let err = server.call("env", json!({})).await.unwrap_err();
    assert!(err.message().starts_with("MCP server `odd-crash` failed on `env`"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "not the timeout: the exit is seen");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = odd("hang").connect().await.unwrap();
    let started = Instant::now();
    let err = server.call("env", json!({})).await.unwrap_err();
    assert_eq!(err.message(), "MCP server `odd-hang` did not answer `env` within 2s");
    assert_eq!(err.class(), Some("timeout"));
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = odd("slow-start").connect().await.unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "{err}");
    assert_eq!(err.to_string(), "MCP server `odd-slow-start` did not answer the handshake within 2s");
}

#[tokio::test]
async fn a_server_that_writes_garbage_is_an_error_naming_it() {
    let started = Instant::now();
    let err = odd("garbage").connect().await.unwrap_err();
    assert!(err.to_string().starts_with("MCP server `odd-garbage`"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn no_server_outlives_the_tools_registered_from_it() {
    let server = odd("ok").connect().await.unwrap();
    let pid = server.pid().unwrap();
    let mut tools = ToolRegistry::new(());
    server.register(&mut tools, "").unwrap();
    drop(server);
    assert!(alive(pid), "the registry's tools keep it");
    tools.call("env", json!({})).await.unwrap();
    drop(tools);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid), "the server's process {pid} is still running");
}
