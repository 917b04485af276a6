//! `workflow check`: every problem of a file, with its line and column, and a non-zero exit.

use std::process::Command;

/// `workflow check` on the files, without checking their tools (they call a made-up `t`).
fn check(files: &[(&str, &str)]) -> (Option<i32>, String, String) {
    check_with(&["--any-tools"], files)
}

fn check_with(flags: &[&str], files: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let out =
        Command::new(env!("CARGO_BIN_EXE_workflow")).arg("check").args(flags).args(&paths).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_good_file_passes_and_says_so() {
    let (code, stdout, _) =
        check(&[("good.wf", "w(repo: String) {\n  a = t(x: <<repo>>);\n  b = t(x: <<a>>);\n}\n")]);
    assert_eq!(code, Some(0));
    assert!(stdout.ends_with("good.wf: 1 workflow(s), 2 step(s), no problems\n"), "{stdout}");
}

#[test]
fn every_problem_is_reported_with_its_line_and_column() {
    let bad =
        "w(repo: String) {\n  a = t(x: \"<<rpo>>\");\n  b = t(x: <<a>>) depends c;\n  c = t(x: <<b>>);\n}\n";
    let (code, _, stderr) = check(&[("bad.wf", bad)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("unknown step or input `rpo`; did you mean `repo`?\n   ╭─[2:15]"), "{stderr}");
    assert!(stderr.contains("dependency cycle: `b` -> `c` -> `b`"), "{stderr}");
    assert!(stderr.contains("╭─[3:27]"), "{stderr}");
    assert!(stderr.contains("bad.wf: 2 problems in the workflow"), "{stderr}");
    assert!(stderr.ends_with("error: 1 of 1 file(s) have problems\n"), "{stderr}");
}

#[test]
fn json_that_does_not_parse_is_a_problem_at_its_place() {
    let broken = "{\"name\": \"w\", \"steps\": [\n  {\"step_id\": \"a\" \"tool_name\": \"t\"}\n]}";
    let selfref =
        r#"{"name": "w", "steps": [{"step_id": "a", "tool_name": "t", "parameters": {"x": "{{a.y}}"}}]}"#;
    let (code, _, stderr) = check(&[("broken.json", broken), ("self.json", selfref)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("expected `,` or `}` at line 2 column 19\n   ╭─[2:19]"), "{stderr}");
    assert!(stderr.contains("step `a`, parameter `x`: step `a` refers to its own output"), "{stderr}");
    assert!(stderr.ends_with("error: 2 of 2 file(s) have problems\n"), "{stderr}");
}

#[test]
fn tools_are_checked_against_the_programs_registry() {
    let bad = "w(repo: String) {\n  a = t(x: <<repo>>);\n  b = github_list_issues(repo: 3);\n  c = slack_send_message(channel: \"x\", text: <<b.isues>>);\n}\n";
    let (code, _, stderr) = check_with(&[], &[("tools.wf", bad)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("step `a`, parameter `tool_name`: unknown tool `t`\n   ╭─[2:7]"), "{stderr}");
    assert!(
        stderr.contains("step `b`, parameter `repo`: expected a string, found a number\n   ╭─[3:26]"),
        "{stderr}"
    );
    assert!(stderr.contains("`b` has no field `isues`; did you mean `issues`?\n   ╭─[4:48]"), "{stderr}");
    assert!(stderr.contains("tools.wf: 3 problems in the workflow"), "{stderr}");

    let yaml =
        "name: w\nsteps:\n  - { step_id: a, tool_name: github_list_isues, parameters: { repo: x/y } }\n";
    let (code, _, stderr) = check_with(&[], &[("w.yaml", yaml)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("unknown tool `github_list_isues`"), "{stderr}");

    let good = "w(repo: String) {\n  a = github_list_issues(repo: <<repo>>);\n}\n";
    let (code, stdout, _) = check_with(&[], &[("good.wf", good)]);
    assert_eq!(code, Some(0));
    assert!(stdout.ends_with("good.wf: 1 workflow(s), 1 step(s), no problems\n"), "{stdout}");
}

#[test]
fn problems_of_json_and_yaml_files_are_placed_at_their_line_and_column() {
    let json = r##"{
  "name": "w",
  "steps": [
    { "step_id": "a", "tool_name": "github_list_isues", "parameters": { "repo": "{{repo}}" } },
    { "step_id": "b", "tool_name": "slack_send_message", "depends_on": ["c"],
      "parameters": { "channel": "#dev", "text": "{{a.issues" } },
    { "step_id": "c", "tool_name": "slack_send_message", "depends_on": ["b"],
      "parameters": { "channel": "#dev", "text": "x" } }
  ]
}"##;
    let (code, _, stderr) = check_with(&[], &[("w.json", json)]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unknown tool `github_list_isues`; did you mean `github_list_issues`?\n   ╭─[4:37]"),
        "{stderr}"
    );
    assert!(stderr.contains("dependency cycle"), "{stderr}");
    assert!(stderr.contains("step `b`, parameter `text`"), "{stderr}");
    assert!(
        stderr.contains("found the end of the text\n   ╭─[6:61]"),
        "the unclosed `{{{{` is placed in its template: {stderr}"
    );
    assert!(stderr.contains("dependency cycle: `b` -> `c` -> `b` (each step uses the next); remove one of these references\n   ╭─[5:74]"), "{stderr}");

    let yaml = "name: w\nsteps:\n  - step_id: a\n    tool_name: file_read\n    parameters: { path: x }\n  - step_id: b\n    tool_name: file_write\n    parameters: { path: y, text: \"{{a.txt}}\" }\n";
    let (code, _, stderr) = check_with(&[], &[("w.yaml", yaml)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("`a` has no field `txt`; did you mean `text`?\n   ╭─[8:37]"), "{stderr}");
}
