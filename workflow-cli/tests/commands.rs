//! `workflow run`, `graph`, `library` and `stats` over the built-in tools and workflows, as a
//! user runs them.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

/// Runs `workflow` in `dir` (its files' root), with stderr not a terminal (no progress bar).
fn workflow_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .current_dir(dir)
        .env("WORKFLOW_FILES_ROOT", dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `workflow run file_report` on `source` in `dir`, journaled in `runs.db`.
fn file_report(dir: &Path, source: &str) -> Output {
    file_report_with(dir, source, &[])
}

fn file_report_with(dir: &Path, source: &str, flags: &[&str]) -> Output {
    let args = ["run", "file_report", "-i", &format!("source={source}"), "-i", r#"fields=["name","team"]"#];
    let rest = ["-i", "title=Team", "-i", "out=team.md", "--sqlite", "runs.db"];
    workflow_in(dir, &[&args[..], &rest[..], flags].concat())
}

#[test]
fn a_library_workflow_runs_is_logged_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let users = r#"[{"name":"ana","team":"core","age":31},{"name":"bo","team":"web","age":27}]"#;
    std::fs::write(dir.path().join("users.json"), users).unwrap();

    let ok = file_report(dir.path(), "users.json");
    let returned: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        returned,
        json!({ "write": { "path": "team.md", "bytes": 66 } }),
        "only what the workflow returns"
    );
    let ok = file_report_with(dir.path(), "users.json", &["--all-outputs"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let outputs: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        outputs["pick"]["records"],
        json!([{ "name": "ana", "team": "core" }, { "name": "bo", "team": "web" }])
    );
    let written = std::fs::read_to_string(dir.path().join("team.md")).unwrap();
    assert_eq!(written, "# Team\n\n| name | team |\n| --- | --- |\n| ana | core |\n| bo | web |\n");
    let progress = text(&ok.stderr);
    let lines: Vec<&str> = progress.lines().collect();
    assert!(lines[0].starts_with("run ") && lines[0].len() == 36, "{progress}");
    for (line, step) in lines[1..5].iter().zip([
        "read (file_read_json)",
        "pick (select_fields)",
        "table (markdown_table)",
        "write (file_write)",
    ]) {
        assert!(line.starts_with(&format!("ok   {step} in ")), "{progress}");
    }

    // Every output but the last step's stayed in the workflow; the log has their tokens.
    let o200k = workflow_tokens::Tiktoken::o200k().unwrap();
    let count = |step: &str| o200k.count(&workflow_runtime::tokens::text_of(&outputs[step])) as u64;
    let kept: u64 = ["read", "pick", "table"].into_iter().map(count).sum();
    let share = kept as f64 * 100.0 / (kept + count("write")) as f64;
    let summary = format!(
        "{kept} tokens (o200k_base) stayed in the workflow ({share:.1} % of the outputs' tokens); {} returned",
        count("write")
    );
    assert_eq!(lines.last(), Some(&summary.as_str()), "{progress}");

    let failed = file_report(dir.path(), "missing.json");
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(stderr.contains("FAIL read (file_read_json)"), "{stderr}");
    assert!(
        stderr.contains("skip pick (select_fields): the run is stopping after `read` failed"),
        "{stderr}"
    );
    assert!(stderr.ends_with("error: workflow `file_report` failed at step `read`: tool `file_read_json` failed: missing.json: No such file or directory (os error 2)\n"), "{stderr}");

    let stats = workflow_in(dir.path(), &["stats", "--sqlite", "runs.db", "--format", "json"]);
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let report = &stats["workflows"][0];
    assert_eq!(
        (report["workflow"].as_str(), report["runs"].as_u64(), report["succeeded"].as_u64()),
        (Some("file_report"), Some(3), Some(2))
    );
    assert_eq!(report["tokens"]["kept"].as_u64(), Some(2 * kept), "{report}");
    assert_eq!(report["tokens"]["returned"].as_u64(), Some(2 * count("write")));
    assert_eq!(report["tokens"]["runs_counted"], 2, "the failed run returned nothing to count");

    let list = workflow_in(dir.path(), &["library", "list", "--sqlite", "runs.db", "--json"]);
    let entries: Vec<Value> = text(&list.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 6);
    let entry = entries.iter().find(|e| e["name"] == "file_report").unwrap();
    assert_eq!(entry["metadata"], json!({ "category": "data", "usage_count": 3, "success_rate": 2.0 / 3.0 }));
    let github = entries.iter().find(|e| e["name"] == "github_pr").unwrap();
    assert_eq!(github["metadata"], json!({ "category": "github", "usage_count": 0 }));

    // The miner finds the built-in's chain again in the log's export.
    let export = workflow_in(dir.path(), &["export", "--sqlite", "runs.db", "--out", "runs.jsonl"]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let mined = workflow_in(dir.path(), &["mine", "runs.jsonl", "--format", "json"]);
    let mined: Value = serde_json::from_slice(&mined.stdout).unwrap();
    let best = &mined["patterns"][0];
    assert_eq!(
        best["tools"],
        json!(["file_read_json", "select_fields", "markdown_table", "file_write"]),
        "{mined}"
    );
    assert_eq!((best["support"].as_u64(), best["success_rate"].as_f64()), (Some(2), Some(1.0)));

    let gantt = text(&workflow_in(dir.path(), &["graph", "--run", "latest", "--sqlite", "runs.db"]).stdout);
    assert!(gantt.starts_with("gantt\n  title file_report run "), "{gantt}");
    assert!(gantt.contains("(failed, "), "{gantt}");
    assert!(gantt.contains("  step read (failed) :crit, t0, "), "{gantt}");
}

#[test]
fn inputs_are_typed_by_the_workflows_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let bad_list = workflow_in(
        dir.path(),
        &["run", "file_report", "-i", "fields=name", "-i", "source=a", "-i", "title=t", "-i", "out=o"],
    );
    assert_eq!(bad_list.status.code(), Some(1));
    assert_eq!(text(&bad_list.stderr), "error: input `fields` must be a list of strings; `name` is not\n");
    let unknown = workflow_in(dir.path(), &["run", "file_report", "-i", "colour=red"]);
    assert_eq!(
        text(&unknown.stderr),
        "error: `file_report` has no input `colour`; its inputs are source, fields, title, out\n"
    );
    let no_pair = workflow_in(dir.path(), &["run", "file_report", "-i", "source"]);
    assert_eq!(text(&no_pair.stderr), "error: `--input source`: write it as `name=value`\n");
    let missing = workflow_in(dir.path(), &["run", "nothing_like_this"]);
    assert!(text(&missing.stderr).starts_with("error: `nothing_like_this` is neither a file nor a workflow of the library (the library has github_pr, "));
}

#[test]
fn graphs_of_a_library_workflow_in_mermaid_and_dot() {
    let dir = tempfile::tempdir().unwrap();
    let mermaid = workflow_in(dir.path(), &["graph", "github_pr"]);
    assert_eq!(
        text(&mermaid.stdout),
        "flowchart TD\n  \
         s0[\"<b>list_issues</b><br/>github_list_issues<br/><small>retry 3</small>\"]\n  \
         s1[\"<b>create_pr</b><br/>github_create_pr<br/><small>retry 3</small><br/><small>timeout 60s</small>\"]\n  \
         s2[\"<b>notify</b><br/>slack_send_message\"]\n  \
         s0 --> s1\n  s1 --> s2\n"
    );
    let dot = text(&workflow_in(dir.path(), &["graph", "approval", "--format", "dot"]).stdout);
    assert!(dot.starts_with("digraph \"approval\" {\n"), "{dot}");
    assert!(dot.contains("  \"decision\" -> \"expire\" [style=dashed, label=\"failed\"];\n"), "{dot}");
    assert!(dot.contains("  \"verdict\" -> \"update\";\n"), "{dot}");
}

#[test]
fn a_shown_workflow_is_a_file_the_other_commands_take() {
    let dir = tempfile::tempdir().unwrap();
    let shown = workflow_in(dir.path(), &["library", "show", "search_report"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    std::fs::write(dir.path().join("search.yaml"), &shown.stdout).unwrap();
    let check = workflow_in(dir.path(), &["check", "search.yaml"]);
    assert_eq!(text(&check.stdout), "search.yaml: 1 workflow(s), 6 step(s), no problems\n");
    let json = workflow_in(dir.path(), &["library", "show", "search_report", "--format", "json"]);
    let from_json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(from_json["steps"].as_array().map(Vec::len), Some(6));
    let none = workflow_in(dir.path(), &["library", "show", "nope"]);
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn a_waiting_run_goes_on_when_another_process_signals_it() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let wf = "wait_demo(out: String) {\n    decision = wait_for_signal(name: \"go\", timeout_secs: 30);\n    verdict = read_decision(signal: <<decision>>);\n    write = file_write(path: <<out>>, text: <<verdict.comment>>);\n}\n";
    std::fs::write(dir.path().join("wait.wf"), wf).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .current_dir(dir.path())
        .env("WORKFLOW_FILES_ROOT", dir.path())
        .args(["run", "wait.wf", "-i", "out=done.txt", "--sqlite", "runs.db", "--tokens", "none"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let run = first.trim().strip_prefix("run ").unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "the run waits for its signal");

    let sent = workflow_in(
        dir.path(),
        &["signal", &run, "go", r#"{"approved": true, "by": "ana"}"#, "--sqlite", "runs.db"],
    );
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    assert_eq!(text(&sent.stderr), format!("sent `go` to run {run}\n"));
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert_eq!(std::fs::read_to_string(dir.path().join("done.txt")).unwrap(), "Approved by ana.");
}
