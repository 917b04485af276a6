use serde_json::json;

use super::*;

fn render_str(src: &str, scope: &serde_json::Value) -> Result<serde_json::Value, String> {
    let t = template(src).map_err(|e| e.to_string())?;
    render(&t, scope, Limits::default()).map_err(|e| e.to_string())
}

#[test]
fn seed_examples() {
    let scope = json!({
        "variable_name": "v",
        "create_pr": { "url": "https://github.com/repo/pulls/1", "success": true },
        "step_id": { "user": { "email": "a@b.c" }, "items": [{ "name": "first" }], "success": false },
    });
    assert_eq!(
        render_str("PR created: {{create_pr.url}}", &scope).unwrap(),
        "PR created: https://github.com/repo/pulls/1"
    );
    assert_eq!(render_str("{{step_id.user.email}}", &scope).unwrap(), "a@b.c");
    assert_eq!(render_str("{{step_id.items[0].name}}", &scope).unwrap(), "first");
    assert_eq!(render_str("{{step_id.success ? 'yes' : 'no'}}", &scope).unwrap(), "no");
    assert_eq!(render_str("{{missing|default:'fallback'}}", &scope).unwrap(), "fallback");
    assert_eq!(render_str("{{step_id.items}}", &scope).unwrap(), json!([{ "name": "first" }]));
    let cond = condition("{{create_pr.success}} == true && {{step_id.items|length}} > 0").unwrap();
    assert_eq!(*eval(&cond, &scope, Limits::default()).unwrap(), json!(true));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{{{{{}1{}}}}}", "(".repeat(10_000), ")".repeat(10_000));
    let err = template(&deep).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 66");
    let bangs = format!("{{{{{}true}}}}", "!".repeat(10_000));
    assert!(template(&bangs).is_err());
}

#[test]
fn outputs_are_never_reparsed_and_sizes_are_bounded() {
    let scope = json!({ "s": { "text": "{{secret}}", "big": "x".repeat(1000) }, "secret": "no" });
    assert_eq!(render_str("say {{s.text}}", &scope).unwrap(), "say {{secret}}");
    let t = template("{{s.big}}{{s.big}}").unwrap();
    let err = render(&t, &scope, Limits { max_output: 1500 }).unwrap_err();
    assert_eq!(err.to_string(), "the output is longer than the limit of 1500 bytes");
}
