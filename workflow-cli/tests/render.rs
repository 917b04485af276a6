//! The pictures `workflow graph` draws render: Mermaid with mermaid's own code in headless
//! Chromium (`tests/render/render.mjs`), DOT with Graphviz's `dot`; and the pictures under
//! `docs/` are what the commands draw today.
//!
//! `scripts/test` installs what these tests use; without it they are skipped with one line,
//! unless `WORKFLOW_REQUIRE_RENDER` is set (as in CI), when they fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BUILT_INS: [&str; 6] =
    ["github_pr", "slack_notification_chain", "data_pipeline", "approval", "search_report", "file_report"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflow(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_workflow")).current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "workflow {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Whether `what` is here; if not, skips (one line) or fails when rendering is required.
fn available(what: &str, present: bool) -> bool {
    if !present {
        let message = format!("{what} is not installed (`scripts/test` installs it)");
        assert!(std::env::var_os("WORKFLOW_REQUIRE_RENDER").is_none(), "{message}");
        eprintln!("note: rendering test skipped: {message}");
    }
    present
}

fn mermaid_available() -> bool {
    let chromium =
        std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    available("chromium", chromium.exists())
        && available(
            "mermaid (npm ci --prefix tests/render)",
            repo().join("tests/render/node_modules/mermaid").exists(),
        )
}

/// Renders each `(input .mmd, output .svg|.png)` with mermaid, in one browser.
fn render(pairs: &[(PathBuf, PathBuf)]) -> Output {
    let mut command = Command::new("node");
    command.arg(repo().join("tests/render/render.mjs"));
    for (input, output) in pairs {
        command.arg(input).arg(output);
    }
    command.output().unwrap()
}

#[test]
fn every_built_in_renders_with_mermaid() {
    if !mermaid_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    for name in BUILT_INS {
        let input = dir.path().join(format!("{name}.mmd"));
        std::fs::write(&input, workflow(dir.path(), &["graph", name]).stdout).unwrap();
        pairs.push((input, dir.path().join(format!("{name}.svg"))));
    }
    let out = render(&pairs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(dir.path().join("approval.svg")).unwrap();
    for step in ["item", "ask", "decision", "verdict", "update", "expire", "wait_for_signal"] {
        assert!(svg.contains(&format!(">{step}<")), "`{step}` is not drawn");
    }
    assert!(svg.contains(">failed<"), "the `after decision failed` arrow is labelled");
}

#[test]
fn mermaid_rejects_what_is_not_mermaid() {
    if !mermaid_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.mmd");
    std::fs::write(&input, "flowchart TD\n  a -->\n").unwrap();
    let out = render(&[(input, dir.path().join("bad.svg"))]);
    assert_eq!(out.status.code(), Some(1), "a broken diagram fails the check");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Parse error"));
}

#[test]
fn every_built_in_renders_with_graphviz() {
    if !available("graphviz", Command::new("dot").arg("-V").output().is_ok()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in BUILT_INS {
        let dot = workflow(dir.path(), &["graph", name, "--format", "dot"]).stdout;
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&dot).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains(&format!("<title>{name}</title>")), "{name}");
    }
}

/// A Gantt chart with its times (numbers after the task's id, and the run's id and length in the
/// title) replaced by `_`: what does not change from one run to the next.
fn shape(gantt: &str) -> String {
    gantt
        .lines()
        .map(|line| match line.split_once(" run ") {
            Some((title, _)) if line.trim_start().starts_with("title") => format!("{title} run _"),
            _ => match line.rsplit_once(", ") {
                Some((head, _)) if line.contains(" :") => {
                    let head = head.rsplit_once(", ").map_or(head, |(h, _)| h);
                    format!("{head}, _, _")
                }
                _ => line.to_owned(),
            },
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_pictures_in_docs_are_what_the_commands_draw() {
    let docs = repo().join("docs");
    let dir = tempfile::tempdir().unwrap();
    let graph = workflow(dir.path(), &["graph", "github_pr"]).stdout;
    assert_eq!(String::from_utf8_lossy(&graph), std::fs::read_to_string(docs.join("github_pr.mmd")).unwrap());

    // The README's run, then its timeline.
    let examples = repo().join("examples/workflows");
    for file in ["team_report.wf", "staff.json", "contractors.json"] {
        std::fs::copy(examples.join(file), dir.path().join(file)).unwrap();
    }
    let run = ["run", "team_report.wf", "-i", "staff=staff.json", "-i", "contractors=contractors.json"];
    workflow(
        dir.path(),
        &[&run[..], &["-i", r#"fields=["name","team"]"#, "-i", "out=team.md", "--sqlite", "runs.db"]]
            .concat(),
    );
    let timeline = workflow(dir.path(), &["graph", "--run", "latest", "--sqlite", "runs.db"]).stdout;
    let committed = std::fs::read_to_string(docs.join("run-timeline.mmd")).unwrap();
    assert_eq!(shape(&String::from_utf8_lossy(&timeline)), shape(&committed));

    if !mermaid_available() {
        return;
    }
    let pairs: Vec<_> = ["github_pr", "run-timeline"]
        .iter()
        .map(|name| (docs.join(format!("{name}.mmd")), dir.path().join(format!("{name}.png"))))
        .collect();
    let out = render(&pairs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["github_pr", "run-timeline"] {
        assert!(docs.join(format!("{name}.png")).exists(), "docs/{name}.png is committed");
    }
}
