//! `workflow serve` listed and called by the official TypeScript SDK's client (which validates
//! the structured content against the tool's output schema), and `workflow run --mcp` over a
//! real MCP server from npm. Skipped with one line without `tests/mcp/node_modules`, unless
//! `WORKFLOW_REQUIRE_NPM` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn installed() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp");
    if dir.join("node_modules/@modelcontextprotocol/sdk").exists() {
        return Some(dir);
    }
    let message = "tests/mcp/node_modules is not installed (`scripts/test` runs `npm ci --prefix tests/mcp`)";
    assert!(std::env::var_os("WORKFLOW_REQUIRE_NPM").is_none(), "{message}");
    eprintln!("note: MCP test skipped: {message}");
    None
}

#[test]
fn a_served_workflow_is_listed_and_called_by_the_typescript_sdk() {
    let Some(mcp) = installed() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.json"),
        r#"[{"name":"ada","team":"core"},{"name":"bo","team":"web"}]"#,
    )
    .unwrap();
    let args = json!({ "source": "users.json", "fields": ["name"], "title": "People", "out": "people.md" });
    let out = Command::new("node")
        .current_dir(dir.path())
        .env("WORKFLOW_FILES_ROOT", dir.path())
        .arg(mcp.join("client.mjs"))
        .args(["--stdio", env!("CARGO_BIN_EXE_workflow"), "serve", "file_report", "github_pr"])
        .args(["--call", "file_report", "--args", &args.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["tools"], json!(["file_report", "github_pr"]));
    let table = "# People\n\n| name |\n| --- |\n| ada |\n| bo |\n";
    assert_eq!(std::fs::read_to_string(dir.path().join("people.md")).unwrap(), table);
    // The SDK checked this against the tool's output schema before handing it over.
    assert_eq!(
        answer["result"]["structuredContent"],
        json!({ "write": { "path": "people.md", "bytes": table.len() } })
    );
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains("team"), "the records read stay in the workflow: {text}");
}

#[test]
fn a_run_calls_the_tools_of_an_mcp_server() {
    let Some(mcp) = installed() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let workflow = "name: note\nsteps:\n  - { step_id: write, tool_name: write_file, parameters: { path: \"{{path}}\", content: \"{{text}}\" } }\n  - { step_id: read, tool_name: read_text_file, parameters: { path: \"{{path}}\" }, depends_on: [write] }\n";
    std::fs::write(root.join("note.yaml"), workflow).unwrap();
    let server = mcp.join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    let spec = format!("files=node {} {}", server.display(), root.display());
    // `check` knows the server's tools too: a misspelt one is found before anything runs.
    std::fs::write(root.join("bad.yaml"), workflow.replace("read_text_file", "read_txt_file")).unwrap();
    let checked = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .current_dir(&root)
        .args(["check", "note.yaml", "bad.yaml", "--mcp", &spec])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(1), "{stderr}");
    assert!(
        String::from_utf8_lossy(&checked.stdout).contains("note.yaml: 1 workflow(s), 2 step(s), no problems")
    );
    assert!(stderr.contains("unknown tool `read_txt_file`; did you mean `read_text_file`?"), "{stderr}");
    let path = root.join("note.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .current_dir(&root)
        .args(["run", "note.yaml", "--mcp", &spec, "--tokens", "none"])
        .args(["-i", &format!("path={}", path.display()), "-i", "text=kept on disk"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let returned: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(returned, json!({ "read": { "content": "kept on disk" } }));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept on disk");
}

#[test]
fn a_workflow_served_over_streamable_http_is_called_by_the_typescript_sdk() {
    use std::io::{BufRead, BufReader};
    let Some(mcp) = installed() else { return };
    let mut server = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["serve", "file_report", "--http", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("serving on ").unwrap().to_owned();
    let out = Command::new("node")
        .arg(mcp.join("client.mjs"))
        .args([
            "--http",
            &url,
            "--call",
            "file_report",
            "--args",
            r#"{"source": "missing.json", "fields": [], "title": "t", "out": "o.md"}"#,
        ])
        .output()
        .unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["tools"], json!(["file_report"]));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(answer["result"]["content"][0]["text"].as_str().unwrap().contains("missing.json"), "{answer}");
}
