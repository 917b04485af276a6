//! Run-time workflows whose steps call real MCP servers from the npm registry
//! (`tests/mcp/package-lock.json`, installed by `scripts/test` with `npm ci`): server-filesystem,
//! server-memory and server-everything, each a child process over stdio.
//!
//! Without `tests/mcp/node_modules` the tests are skipped with one line, unless
//! `WORKFLOW_REQUIRE_NPM` is set (as in CI), when they fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use workflow_mcp::McpServer;
use workflow_runtime::{ExecuteError, StepStatus, ToolRegistry, WorkflowExecutor, WorkflowTemplate};

fn package(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/node_modules/@modelcontextprotocol");
    let entry = root.join(name).join("dist/index.js");
    if entry.exists() {
        return Some(entry);
    }
    let message =
        format!("{} is not installed (`scripts/test` runs `npm ci --prefix tests/mcp`)", entry.display());
    assert!(std::env::var_os("WORKFLOW_REQUIRE_NPM").is_none(), "{message}");
    eprintln!("note: MCP test skipped: {message}");
    None
}

fn template(yaml: &str) -> WorkflowTemplate {
    WorkflowTemplate::from_yaml(yaml).unwrap()
}

#[tokio::test]
async fn a_workflow_writes_a_file_and_reads_it_back_through_server_filesystem() {
    let Some(entry) = package("server-filesystem") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let files = McpServer::stdio("filesystem", "node", [entry.to_str().unwrap(), root.to_str().unwrap()])
        .connect()
        .await
        .unwrap();
    let mut tools = ToolRegistry::new(());
    files.register(&mut tools, "").unwrap();
    let workflow = template(
        r#"
name: round_trip
steps:
  - { step_id: write, tool_name: write_file, parameters: { path: "{{path}}", content: "{{text}}" } }
  - { step_id: read, tool_name: read_text_file, parameters: { path: "{{path}}" }, depends_on: [write] }
"#,
    );
    let path = root.join("notes.md");
    let inputs = json!({ "path": path.to_str().unwrap(), "text": "# Notes\nwritten by a workflow\n" });
    let run = WorkflowExecutor::new().execute(&workflow, &tools, inputs).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# Notes\nwritten by a workflow\n");
    assert_eq!(run.context.get_result("read").unwrap()["content"], "# Notes\nwritten by a workflow\n");

    // Outside its directory the server refuses, and the step fails with its words.
    let outside = json!({ "path": "/etc/passwd", "text": "x" });
    let Err(ExecuteError::Failed(err)) = WorkflowExecutor::new().execute(&workflow, &tools, outside).await
    else {
        panic!("the write outside the directory should fail")
    };
    assert!(err.to_string().contains("Access denied - path outside allowed directories"), "{err}");
}

#[tokio::test]
async fn a_workflow_builds_and_queries_a_graph_through_server_memory() {
    let Some(entry) = package("server-memory") else { return };
    let dir = tempfile::tempdir().unwrap();
    let memory_file = dir.path().join("memory.jsonl");
    let memory = McpServer::stdio("memory", "node", [entry.to_str().unwrap()])
        .env("MEMORY_FILE_PATH", memory_file.to_str().unwrap())
        .connect()
        .await
        .unwrap();
    let mut tools = ToolRegistry::new(());
    memory.register(&mut tools, "memory_").unwrap();
    let workflow = template(
        r#"
name: team_graph
steps:
  - step_id: people
    tool_name: memory_create_entities
    parameters:
      entities:
        - { name: ada, entityType: person, observations: ["writes the compiler"] }
        - { name: grace, entityType: person, observations: ["reviews the compiler"] }
  - step_id: link
    tool_name: memory_create_relations
    parameters: { relations: [ { from: grace, to: ada, relationType: reviews } ] }
    depends_on: [people]
  - { step_id: found, tool_name: memory_search_nodes, parameters: { query: compiler }, depends_on: [link] }
  - { step_id: ada, tool_name: memory_open_nodes, parameters: { names: [ada] }, depends_on: [link] }
"#,
    );
    let run = WorkflowExecutor::new().execute(&workflow, &tools, json!({})).await.unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["entities"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
    };
    let mut found = names(run.context.get_result("found").unwrap());
    found.sort();
    assert_eq!(found, ["ada", "grace"]);
    let ada = run.context.get_result("ada").unwrap();
    assert_eq!(ada["relations"], json!([{ "from": "grace", "to": "ada", "relationType": "reviews" }]));
    let kept = std::fs::read_to_string(&memory_file).unwrap();
    assert!(kept.contains("\"relationType\":\"reviews\""), "{kept}");
}

#[tokio::test]
async fn server_everythings_errors_and_long_running_tool() {
    let Some(entry) = package("server-everything") else { return };
    let everything = McpServer::stdio("everything", "node", [entry.to_str().unwrap(), "stdio"])
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let mut tools = ToolRegistry::new(());
    everything.register(&mut tools, "").unwrap();

    // Structured content, validated by its output schema on the server's side.
    let weather = tools.call("get-structured-content", json!({ "location": "Chicago" })).await.unwrap();
    assert!(weather["temperature"].is_number(), "{weather}");

    // A workflow whose step leaves out a required argument is refused before anything runs,
    // by the server's own input schema.
    let workflow = template("name: errs\nsteps:\n  - { step_id: say, tool_name: echo, parameters: {} }\n");
    let Err(ExecuteError::Invalid(problems)) =
        WorkflowExecutor::new().execute(&workflow, &tools, json!({})).await
    else {
        panic!("echo without a message should be refused")
    };
    assert!(problems.to_string().contains("message"), "{problems}");

    // `isError`: a step that fails, with the server's words and name, and is not retried.
    let workflow = template(
        "name: errs\nsteps:\n  - { step_id: weather, tool_name: get-structured-content, parameters: { location: Paris }, retry_count: 2, backoff_seconds: 0.01 }\n",
    );
    let Err(ExecuteError::Failed(err)) = WorkflowExecutor::new().execute(&workflow, &tools, json!({})).await
    else {
        panic!("Paris is not one of its locations")
    };
    let step = err.record.step("weather").unwrap();
    assert_eq!(
        (step.status, step.attempts.len()),
        (StepStatus::Failed, 1),
        "a permanent error is not retried"
    );
    assert!(
        err.to_string().contains("MCP server `everything`, tool `get-structured-content`: MCP error -32602"),
        "{err}"
    );
    let err = tools.call("echo", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("MCP server `everything`, tool `echo`: MCP error -32602"), "{err}");

    // The long-running tool: done within the timeout, and cut at it otherwise.
    let done =
        tools.call("trigger-long-running-operation", json!({ "duration": 1, "steps": 2 })).await.unwrap();
    assert_eq!(done, "Long running operation completed. Duration: 1 seconds, Steps: 2.");
    let started = std::time::Instant::now();
    let err = tools
        .call("trigger-long-running-operation", json!({ "duration": 10, "steps": 2 }))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("MCP server `everything` did not answer `trigger-long-running-operation` within 5s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn server_everything_over_streamable_http() {
    let Some(entry) = package("server-everything") else { return };
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new("node")
        .arg(&entry)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let server = loop {
        match McpServer::http("everything-http", &url).timeout(Duration::from_secs(5)).connect().await {
            Ok(server) => break server,
            Err(e) if std::time::Instant::now() > deadline => panic!("server-everything over HTTP: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let sum = server.call("get-sum", json!({ "a": 2, "b": 3 })).await.unwrap();
    assert_eq!(sum, "The sum of 2 and 3 is 5.");
    drop(server);
    child.kill().await.unwrap();
}

/// Hand-written requests, each with the one tool of the three servers that does it.
const QUERIES: &[(&str, &str)] = &[
    ("read the contents of a text file", "read_text_file"),
    ("write text to a file, replacing it", "write_file"),
    ("make a new folder", "create_directory"),
    ("list what is in a directory", "list_directory"),
    ("move or rename a file", "move_file"),
    ("find files whose names match a pattern", "search_files"),
    ("show the size and modification time of a file", "get_file_info"),
    ("replace some lines in a file", "edit_file"),
    ("remember a new person with some facts about them", "create_entities"),
    ("record that one entity relates to another", "create_relations"),
    ("add facts to an entity that exists", "add_observations"),
    ("show the whole knowledge graph", "read_graph"),
    ("search the knowledge graph for nodes about a topic", "search_nodes"),
    ("forget an entity and its relations", "delete_entities"),
    ("add two numbers", "get-sum"),
    ("echo a message back", "echo"),
    ("start an operation that takes long and reports its progress", "trigger-long-running-operation"),
    ("get a tiny image", "get-tiny-image"),
    ("print the server's environment variables", "get-env"),
];

#[tokio::test]
async fn tool_search_finds_the_npm_servers_tools_by_what_they_do() {
    let (Some(files), Some(memory), Some(everything)) =
        (package("server-filesystem"), package("server-memory"), package("server-everything"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let memory_file = dir.path().join("m.jsonl");
    let servers = [
        McpServer::stdio("filesystem", "node", [files.to_str().unwrap(), root.as_str()]),
        McpServer::stdio("memory", "node", [memory.to_str().unwrap()])
            .env("MEMORY_FILE_PATH", memory_file.to_str().unwrap()),
        McpServer::stdio("everything", "node", [everything.to_str().unwrap(), "stdio"]),
    ];
    let mut tools = ToolRegistry::new(());
    for server in servers {
        server.connect().await.unwrap().register(&mut tools, "").unwrap();
    }
    let index = workflow_search::ToolIndex::of_registry(&tools);
    let (mut at1, mut at5) = (0, 0);
    for (query, gold) in QUERIES {
        let hits: Vec<&str> = index.search(query, 5).iter().map(|h| h.name).collect();
        at1 += usize::from(hits.first() == Some(gold));
        at5 += usize::from(hits.contains(gold));
        if !hits.contains(gold) {
            eprintln!("missed `{gold}` for \"{query}\": {hits:?}");
        }
    }
    let n = QUERIES.len();
    eprintln!("MCP tools ({} of them): recall@5 {at5}/{n}, top-1 {at1}/{n}", index.tools().len());
    assert!(at5 * 100 >= n * MCP_RECALL_PERCENT, "recall@5 {at5}/{n}");
}

/// The least recall@5 (percent) of the queries above: what they measured, rounded down.
const MCP_RECALL_PERCENT: usize = 94;
