//! Each rule, with two span types: a line and column in text, and a `proc_macro2::Span`.

use super::*;
use crate::ast::Span;

/// Line and column (from 1) of a span's start in `src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineCol(usize, usize);

/// The problems of `src` (a whole workflow), as `(line, column, message)` with text spans, and
/// checked to be the same messages with `proc_macro2` spans.
fn problems(src: &str) -> Vec<(usize, usize, String)> {
    let wf = crate::dsl::workflows(src).unwrap().remove(0);
    let macro_messages: Vec<String> =
        match check(wf.clone().map_spans(&mut |_: Span, _| proc_macro2::Span::call_site())) {
            Ok(_) => Vec::new(),
            Err(found) => found.into_iter().map(|p| p.message).collect(),
        };
    let at = |s: Span| {
        let e = crate::ParseError::at(src, s.start, "");
        LineCol(e.line, e.column)
    };
    let found = match check(wf.map_spans(&mut |s, _| at(s))) {
        Ok(_) => Vec::new(),
        Err(found) => found.into_iter().map(|p| (p.span.0, p.span.1, p.message)).collect::<Vec<_>>(),
    };
    let text_messages: Vec<&String> = found.iter().map(|(_, _, m)| m).collect();
    assert_eq!(
        text_messages,
        macro_messages.iter().collect::<Vec<_>>(),
        "both span types give the same problems"
    );
    found
}

fn one(src: &str) -> (usize, usize, String) {
    let mut found = problems(src);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn check_has_steps() {
    assert_eq!(one("w() {}"), (1, 1, "workflow `w` has no steps; add `id = tool(arg: value);`".into()));
}

#[test]
fn check_names() {
    let found = problems("w(a: u64, a: u64, b: u64) {\n x = t();\n x = t();\n b = t();\n}");
    assert_eq!(
        found,
        [
            (1, 11, "duplicate input `a`".into()),
            (3, 2, "duplicate step id `x`; rename one of the steps".into()),
            (4, 2, "step `b` has the name of an input of `w`; rename the step".into()),
        ]
    );
}

#[test]
fn check_references() {
    let found =
        problems("w(repo: String) {\n a = t(v: <<rpo>>);\n b = t(v: \"x <<b.n>>\");\n c = t(v: <<zzz>>);\n}");
    assert_eq!(
        found,
        [
            (2, 13, "unknown step or input `rpo`; did you mean `repo`?".into()),
            (3, 16, "step `b` refers to its own output; a step can use inputs and other steps only".into()),
            (
                4,
                13,
                "unknown step or input `zzz`; the inputs are `repo` and the steps are `a`, `b`, `c`".into()
            ),
        ]
    );
}

#[test]
fn check_references_without_declared_inputs_takes_other_names_as_inputs() {
    let mut wf = crate::testing::workflow("a = t(v: <<q>>); b = t(v: <<a>>, w: <<q>>, z: <<r>>);");
    wf.inputs = None;
    let checked = check(wf).unwrap();
    assert_eq!(checked.implicit_inputs, ["q", "r"]);

    let mut wf = crate::testing::workflow("list_issues = t(); b = t(v: <<list_isues.n>>);");
    wf.inputs = None;
    let found = check(wf).unwrap_err();
    assert_eq!(
        found[0].message,
        "unknown step `list_isues`; did you mean `list_issues`? (if it is an input, declare the workflow's inputs)"
    );
}

#[test]
fn check_depends() {
    let found = problems("w(i: u64) {\n a = t() depends a;\n b = t() depends i, nota, zzz;\n}");
    assert_eq!(
        found,
        [
            (2, 18, "step `a` depends on itself; remove it from `depends`".into()),
            (3, 18, "`i` is an input, not a step; `depends` takes step ids".into()),
            (3, 21, "`depends` names unknown step `nota`; the steps are `a`, `b`".into()),
            (3, 27, "`depends` names unknown step `zzz`; the steps are `a`, `b`".into()),
        ]
    );
}

#[test]
fn check_conditions() {
    let found = problems(
        "w() {\n a = t();\n b = t() if <<a.name>>|upper;\n c = t() if 'yes';\n d = t() if <<a.n>> > 0 && !<<a.ok>>;\n}",
    );
    assert_eq!(
        found,
        [
            (
                3,
                13,
                "a condition must be a boolean, found a string; compare it, e.g. `{{a.name}}|upper > 0`"
                    .into()
            ),
            (4, 13, "a condition must be a boolean, found a string; compare it, e.g. `'yes' > 0`".into()),
        ]
    );
}

#[test]
fn check_retries() {
    let found = problems(
        "w() {\n a = t() retry 101;\n b = t() retry 1 backoff 0s x0.5;\n c = t() retry 1 backoff 2s max 1s;\n d = t() retry 1 backoff 0s;\n}",
    );
    assert_eq!(
        found,
        [
            (2, 16, "expected a whole retry count from 0 to 100 such as `retry 3`, found `101`".into()),
            (3, 29, "a backoff factor below 1 shrinks delays; write `x1` or more, found `x0.5`".into()),
            (4, 33, "`max 1s` is shorter than `backoff 2s`, so every delay would be the cap; raise `max` or lower `backoff`".into()),
        ]
    );
}

#[test]
fn check_timeouts() {
    assert_eq!(
        one("w() {\n a = t() timeout 0s;\n}"),
        (2, 18, "a timeout of zero would fail every call; give a positive duration".into())
    );
    let mut wf = crate::testing::workflow("a = t() timeout 1s;");
    if let Some(t) = wf.steps[0].timeout.as_mut() {
        t.value = -5.0;
    }
    let found = check(wf).unwrap_err();
    assert_eq!(
        found[0].message,
        "a timeout must be a positive duration of at most 1000000000000 ms, found -5 ms"
    );
}

#[test]
fn check_timeouts_deadline_not_shorter_than_the_timeout() {
    assert_eq!(
        one("w() {\n a = t() retry 3 timeout 2s deadline 1500ms;\n}"),
        (2, 38, "the deadline of 1500ms is shorter than the timeout of 2s it bounds; a deadline limits all the attempts of the step together, so make it at least the timeout".into())
    );
    assert_eq!(
        one("w() {\n a = t() deadline 0s;\n}"),
        (2, 19, "a deadline of zero would fail every call; give a positive duration".into())
    );
    assert!(problems("w() {\n a = t() retry 3 timeout 2s deadline 2s;\n}").is_empty());
    let checked = check(crate::testing::workflow("a = t() retry 2 deadline 10s;")).unwrap();
    assert_eq!(checked.policies[0].deadline, Some(std::time::Duration::from_secs(10)));
}

#[test]
fn check_cycles() {
    let found = problems("w() {\n a = t(v: <<c>>);\n b = t(v: <<a>>);\n c = t() depends b;\n}");
    assert_eq!(
        found,
        [(2, 13, "dependency cycle: `a` -> `c` -> `b` -> `a` (each step uses the next); remove one of these references".into())]
    );
}

#[test]
fn a_checked_workflow_has_its_graph_and_policies_with_defaults() {
    let checked =
        check(crate::testing::workflow("a = t() retry 3; b = t(v: <<a>>) timeout 2s on_error skip;"))
            .unwrap();
    assert_eq!(checked.graph.levels, vec![vec![0], vec![1]]);
    let retry = checked.policies[0].retry;
    assert_eq!((retry.retries, retry.backoff, retry.multiplier), (3, crate::policy::DEFAULT_BACKOFF, 2.0));
    assert_eq!(checked.policies[1].timeout, Some(std::time::Duration::from_secs(2)));
    assert_eq!(checked.policies[1].on_error, crate::model::OnError::Skip);
}
