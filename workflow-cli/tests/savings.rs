//! `workflow savings`: the tool-result tokens mined chains would have kept out of the model.

use std::process::Command;

use serde_json::{Value, json};
use workflow_runtime::tokens::text_of;
use workflow_tokens::Tiktoken;

fn savings(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("savings")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_chain_keeps_the_results_its_last_step_reads() {
    let dir = tempfile::tempdir().unwrap();
    let user = |n: u64| json!({ "user_id": format!("u{n}"), "name": "Ada Lovelace", "orders": [format!("#W{n}00"), format!("#W{n}01")] });
    let order = |n: u64| json!({ "order_id": format!("#W{n}00"), "status": "delivered", "total": 42.5 });
    let mut lines = Vec::new();
    for n in 1..=3 {
        let session = format!("s{n}");
        let call = |seq: u64, tool: &str, parameters: Value, result: Value| {
            json!({ "session_id": session, "seq": seq, "timestamp": null, "tool_name": tool, "parameters": parameters,
                    "result": result, "success": true, "duration_ms": null, "source": "test" }).to_string()
        };
        lines.push(call(0, "get_user", json!({ "user_id": format!("u{n}") }), user(n)));
        lines.push(call(1, "get_order", json!({ "order_id": format!("#W{n}00") }), order(n)));
    }
    // A session of one call: no chain.
    lines.push(
        json!({ "session_id": "s4", "seq": 0, "timestamp": null, "tool_name": "think", "parameters": {},
                       "result": "ok", "success": true, "duration_ms": null, "source": "test" })
        .to_string(),
    );
    let log = dir.path().join("log.jsonl");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();

    let report = savings(&[log.to_str().unwrap()]);
    let (o200k, cl100k) = (Tiktoken::o200k().unwrap(), Tiktoken::cl100k().unwrap());
    let kept = |t: &Tiktoken| (1..=3).map(|n| t.count(&text_of(&user(n))) as u64).sum::<u64>();
    let all = |t: &Tiktoken| {
        (1..=3).map(|n| (t.count(&text_of(&user(n))) + t.count(&text_of(&order(n)))) as u64).sum::<u64>()
            + t.count("ok") as u64
    };
    assert_eq!(report["chains"][0]["chain"], json!(["get_user", "get_order"]));
    assert_eq!(report["chains"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["chains"][0]["runs"], 3);
    assert_eq!(report["kept"], json!({ "o200k": kept(&o200k), "cl100k": kept(&cl100k) }));
    assert_eq!(report["result_tokens"], json!({ "o200k": all(&o200k), "cl100k": all(&cl100k) }));
}

#[test]
fn the_taubench_figures_in_the_readme_are_what_the_command_prints() {
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/traces/taubench.jsonl");
    let report = savings(&[log]);
    assert_eq!((report["sessions"].as_u64(), report["calls"].as_u64()), (Some(346), Some(2618)));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let line = format!(
        "kept out of the model: {} of {} tokens ({:.1} %, o200k), {} of {} ({:.1} %, cl100k)",
        report["kept"]["o200k"],
        report["result_tokens"]["o200k"],
        report["kept_share"]["o200k"].as_f64().unwrap() * 100.0,
        report["kept"]["cl100k"],
        report["result_tokens"]["cl100k"],
        report["kept_share"]["cl100k"].as_f64().unwrap() * 100.0,
    );
    assert!(readme.contains(&line), "the README should quote `{line}`");
}
