//! `workflow mine`, run as the built binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn trace(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/traces").join(name)
}

fn workflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow")).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn json_has_the_stats_and_each_pattern_with_its_template_and_source() {
    let log = trace("taubench.jsonl");
    let out = workflow(&["mine", log.to_str().unwrap(), "--format", "json", "--top", "3", "--max-len", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["stats"]["lines"], 2618);
    assert_eq!(v["stats"]["events"], 2618);
    assert_eq!(v["stats"]["sessions"], 346);
    assert_eq!(v["stats"]["skipped"], serde_json::json!([]));
    assert_eq!(v["stats"]["duplicates"], serde_json::json!([]));
    let patterns = v["patterns"].as_array().unwrap();
    assert_eq!(patterns.len(), 3);
    let top = &patterns[0];
    assert_eq!(top["tools"], serde_json::json!(["get_user_details", "get_reservation_details"]));
    assert_eq!(
        (top["support"].as_u64(), top["success_rate"].as_f64(), top["score"].as_f64()),
        (Some(128), Some(1.0), Some(128.0))
    );
    assert_eq!(top["levels"], serde_json::json!([["get_user_details"], ["get_reservation_details"]]));
    assert_eq!(top["template"]["steps"][0]["parameters"]["user_id"], "{{user_id}}");
    assert_eq!(
        top["template"]["steps"][1]["parameters"]["reservation_id"],
        "{{get_user_details.reservations[0]}}"
    );
    let dsl = top["dsl"].as_str().unwrap();
    assert!(dsl.contains("get_reservation_details = get_reservation_details(reservation_id: <<get_user_details.reservations[0]>>);"), "{dsl}");
}

#[test]
fn table_and_dsl_formats() {
    let log = trace("taubench.jsonl");
    let out = workflow(&["mine", log.to_str().unwrap(), "--top", "2"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "2618 events in 346 sessions (2618 lines, 0 skipped, 0 duplicates); 2 patterns");
    assert_eq!(lines[2], "   1       128    100.0%     128.0  get_user_details -> get_reservation_details");
    let out = workflow(&["mine", log.to_str().unwrap(), "--top", "1", "--format", "dsl"]);
    assert!(
        stdout(&out).starts_with("/// Mined chain: get_user_details -> get_reservation_details.\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn options_change_what_is_counted() {
    let log = trace("taubench.jsonl");
    let log = log.to_str().unwrap();
    let top = |args: &[&str]| {
        let mut all = vec!["mine", log, "--format", "json", "--top", "1"];
        all.extend_from_slice(args);
        let out = workflow(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        (v["patterns"][0]["tools"].clone(), v["patterns"][0]["support"].as_u64())
    };
    let (_, contiguous) = top(&[]);
    let (_, gapped) = top(&["--gaps"]);
    assert!(gapped > contiguous, "{gapped:?} {contiguous:?}");
    let (tools, _) = top(&["--collapse-repeats", "--max-len", "2"]);
    assert_eq!(tools, serde_json::json!(["get_user_details", "get_reservation_details"]));
    let out = workflow(&["mine", log, "--format", "json", "--min-support", "100%"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["patterns"], serde_json::json!([]));
}

#[test]
fn bad_lines_are_warned_about_and_counted() {
    let mut file = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    let good = std::fs::read_to_string(trace("taubench.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(5, "[\"not an event\"]");
    let dup = lines[0];
    lines.insert(9, dup);
    writeln!(file, "{}", lines.join("\n")).unwrap();
    let path = file.path().to_str().unwrap();
    let out = workflow(&["mine", path, "--format", "json", "--top", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["stats"]["skipped"][0]["line"], 6);
    assert!(v["stats"]["skipped"][0]["reason"].as_str().unwrap().starts_with("expected a JSON object"));
    assert_eq!(v["stats"]["duplicates"], serde_json::json!([10]));
    assert_eq!(v["stats"]["events"], 2618);
    assert!(
        stderr(&out).contains(&format!("warning: skipped {path}:6: expected a JSON object")),
        "{}",
        stderr(&out)
    );
    // Over the ratio allowed: a one-line reason and a failure.
    let out = workflow(&["mine", path, "--max-bad-ratio", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let last = err.lines().last().unwrap();
    assert!(last.starts_with(&format!("error: {path}: 1 of 2620 lines are bad (0.04 %")), "{err}");
}

#[test]
fn a_binary_file_or_a_missing_one_fails_with_one_line() {
    let mut file = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    file.write_all(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa\n\x01\x02")
        .unwrap();
    let out = workflow(&["mine", file.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).lines().last().unwrap().contains("lines are bad (100.00 %"), "{}", stderr(&out));
    let out = workflow(&["mine", "/no/such/log.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).starts_with("error: /no/such/log.jsonl: "));
}

#[test]
fn an_empty_log_is_no_error() {
    let file = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    let out = workflow(&["mine", file.path().to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "0 events in 0 sessions (0 lines, 0 skipped, 0 duplicates); 0 patterns\n");
}

#[test]
fn usage_errors_and_help() {
    let out = workflow(&["mine", "x.jsonl", "--min-support", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected a number of sessions such as `5` or a share such as `2%`"));
    let out = workflow(&["mine", "--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("--collapse-repeats"));
    let out = workflow(&["mine"]);
    assert_eq!(out.status.code(), Some(2));
}
