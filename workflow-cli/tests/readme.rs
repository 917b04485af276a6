//! The README's command-line examples, run as a new user would from the repository's root:
//! each ```console block's command gives the output printed under it, but for times and run ids.

use std::path::Path;
use std::process::Command;

/// Each `$ workflow …` command of a console block, with the lines printed under it.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line != "```console" {
            continue;
        }
        let command = lines.next().unwrap_or_default();
        let mut output = String::new();
        for line in lines.by_ref().take_while(|l| *l != "```") {
            output.push_str(line);
            output.push('\n');
        }
        if let Some(args) = command.strip_prefix("$ workflow ") {
            found.push((args.to_owned(), output));
        }
    }
    found
}

/// Words of a command line: split on spaces, `'…'` kept whole.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted) = (String::new(), false);
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The text with what changes from one run to the next replaced: a duration (with the spaces
/// before it, which pad it to a width) by ` <t>`, a run id by `<id>`.
fn masked(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        while !rest.is_empty() {
            let digits = rest.find(|c: char| c.is_ascii_digit());
            let Some(start) = digits else {
                kept.push_str(rest);
                break;
            };
            let end = rest[start..]
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(rest.len(), |e| start + e);
            let after = &rest[end..];
            let unit = ["µs", " ms", "ms", " s"].iter().find(|u| {
                after.starts_with(**u) && !after[u.len()..].starts_with(|c: char| c.is_alphanumeric())
            });
            match unit {
                Some(unit) => {
                    kept.push_str(rest[..start].trim_end_matches(' '));
                    kept.push_str(" <t>");
                    rest = &after[unit.len()..];
                }
                None => {
                    kept.push_str(&rest[..end]);
                    rest = after;
                }
            }
        }
        // A run id: 32 hexadecimal digits after `run `.
        if let Some(id) =
            kept.strip_prefix("run ").filter(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
        {
            let _ = id;
            kept = "run <id>".to_owned();
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

#[test]
fn the_readme_console_examples_print_what_it_shows() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 5, "the README's examples were not found");

    // A fresh checkout's files, and nothing else: no log yet.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("examples/workflows");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::create_dir_all(dir.path().join("target")).unwrap();
    for entry in std::fs::read_dir(repo.join("examples/workflows")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("tests/data/traces")).unwrap();
    std::fs::copy(
        repo.join("tests/data/traces/taubench.jsonl"),
        dir.path().join("tests/data/traces/taubench.jsonl"),
    )
    .unwrap();

    for (args, expected) in examples {
        let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
            .current_dir(dir.path())
            .env_remove("WORKFLOW_FILES_ROOT")
            .args(words(&args))
            .output()
            .unwrap();
        let printed =
            String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(masked(&printed), masked(&expected), "`workflow {args}`");
    }
}

#[test]
fn masking_keeps_what_does_not_change() {
    assert_eq!(masked("ok   a (t) in 379.8µs\n"), "ok   a (t) in <t>\n");
    assert_eq!(
        masked("  a     1 call(s)  100.0 % ok  p50      0.4 ms  p95     12.0 ms\n"),
        "  a     1 call(s)  100.0 % ok  p50 <t>  p95 <t>\n"
    );
    assert_eq!(masked("run 93069904a1dfa67b235afc0c3cab7c9d\n"), "run <id>\n");
    assert_eq!(masked("248 tokens, 11 returned, 2 s\n"), "248 tokens, 11 returned, <t>\n");
}
