//! `workflow export`: a SQLite execution log written as JSONL, and mined back.

use std::process::Command;
use std::sync::Arc;

use workflow::RunContext;
use workflow::journal::RunId;
use workflow::prelude::*;
use workflow::store::SqliteStore;

/// Look a user up.
#[tool]
async fn find_user(name: String) -> Result<String, ToolError> {
    Ok(format!("user-{name}-{}", name.len()))
}

/// Greet a user.
#[tool]
async fn greet(id: String) -> Result<String, ToolError> {
    Ok(format!("hello {id}"))
}

workflow! {
    /// Find, then greet.
    pub welcome(name: String) {
        user = find_user(name: <<name>>);
        hello = greet(id: <<user>>);
    }
}

fn workflow_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_workflow")).args(args).output().unwrap()
}

#[tokio::test]
async fn a_log_exports_as_jsonl_that_mine_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    for name in ["ada", "grace", "alan"] {
        let context = RunContext::new(&()).with_journal(store.clone(), RunId::random());
        welcome(name.into()).run(context).await.unwrap();
    }
    drop(store);
    let out = dir.path().join("runs.jsonl");
    let export = workflow_cli(&["export", "--sqlite", db.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(String::from_utf8_lossy(&export.stderr), "6 call(s) of 3 run(s) exported\n");
    let mined = workflow_cli(&["mine", out.to_str().unwrap(), "--format", "dsl", "--top", "1"]);
    let dsl = String::from_utf8_lossy(&mined.stdout);
    assert!(mined.status.success(), "{}", String::from_utf8_lossy(&mined.stderr));
    assert!(dsl.contains("greet = greet(id: <<find_user>>);"), "{dsl}");
    assert!(dsl.contains("Support 3 sessions"), "{dsl}");
}

#[test]
fn a_missing_log_is_an_error_naming_it() {
    let export = workflow_cli(&["export", "--sqlite", "/nonexistent/runs.db"]);
    assert_eq!(export.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&export.stderr), "error: /nonexistent/runs.db: no such file\n");
    let neither = workflow_cli(&["export"]);
    assert_eq!(neither.status.code(), Some(2));
}
