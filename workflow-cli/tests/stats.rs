//! `workflow stats`: counts, success rates and durations from a SQLite execution log.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use workflow::RunContext;
use workflow::journal::RunId;
use workflow::prelude::*;
use workflow::store::SqliteStore;

/// Wait, then succeed unless asked to fail.
#[tool]
async fn slow(ms: u64, fail: bool) -> Result<u64, ToolError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if fail {
        return Err(ToolError::permanent("asked to fail"));
    }
    Ok(ms)
}

workflow! {
    /// Two slow steps side by side, then one that may fail.
    pub pair(fail: bool) {
        left = slow(ms: 30, fail: false);
        right = slow(ms: 30, fail: false);
        last = slow(ms: 1, fail: <<fail>>) depends left, right;
    }
}

#[tokio::test]
async fn stats_count_runs_and_successes_and_what_concurrency_saved() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    for fail in [false, false, true, false] {
        let context = RunContext::new(&()).with_journal(store.clone(), RunId::random());
        let _ = pair(fail).run(context).await;
    }
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["stats", "--sqlite", db.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pair = &stats["workflows"][0];
    assert_eq!(pair["workflow"], "pair");
    assert_eq!((pair["runs"].as_u64(), pair["succeeded"].as_u64()), (Some(4), Some(3)));
    assert_eq!(pair["success_rate"], 0.75);
    let step = |id: &str| pair["steps"].as_array().unwrap().iter().find(|s| s["step"] == id).unwrap().clone();
    assert_eq!((step("left")["calls"].as_u64(), step("left")["succeeded"].as_u64()), (Some(4), Some(4)));
    assert_eq!((step("last")["calls"].as_u64(), step("last")["succeeded"].as_u64()), (Some(4), Some(3)));
    assert!(step("left")["p50_ms"].as_f64().unwrap() >= 30.0);
    // The two 30 ms steps ran side by side: about 30 ms per run saved.
    let saved = pair["saved_by_concurrency_ms"].as_f64().unwrap();
    assert!(saved >= 4.0 * 20.0, "{pair}");
    assert!(pair["p95_ms"].as_f64().unwrap() >= pair["p50_ms"].as_f64().unwrap());

    let table = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["stats", "--sqlite", db.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("pair: 4 run(s), 3 succeeded (75.0 %)"), "{table}");
}
