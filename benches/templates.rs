//! Rendering a typical parameter template against minijinja and a hand-written floor.
//!
//! The template reads nested paths, an index, a field that is missing (so `default` applies)
//! and a ternary. All three variants render the same text from the same data, checked once
//! before timing; templates are parsed (compiled) once, outside the timed loop. A second group
//! renders a `default` on a name missing from a scope of 50 names. See `BENCHMARKS.md`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::{Value, json};
use workflow::template::{Limits, render_text, template};

/// The parameter template, in `workflow`'s syntax.
const TEMPLATE: &str = "Fixes #{{list_issues.issues[0].number}} in {{repo.owner.login}}/{{repo.name}}: \
     {{list_issues.issues[0].title}} (reviewer: {{pr.reviewer|default:'nobody'}}, \
     CI {{ci.passed ? 'green' : 'red'}})";

/// The same template in Jinja syntax.
const JINJA: &str = "Fixes #{{ list_issues.issues[0].number }} in {{ repo.owner.login }}/{{ repo.name }}: \
     {{ list_issues.issues[0].title }} (reviewer: {{ pr.reviewer|default('nobody') }}, \
     CI {{ 'green' if ci.passed else 'red' }})";

/// What every variant renders.
const EXPECTED: &str = "Fixes #1234 in workflow-rs/workflow: Step ids may collide across files \
     (reviewer: nobody, CI green)";

/// Step results and inputs as a run sees them.
fn data() -> Value {
    json!({
        "repo": { "name": "workflow", "owner": { "login": "workflow-rs", "id": 7 } },
        "list_issues": {
            "total": 2,
            "issues": [
                { "number": 1234, "title": "Step ids may collide across files", "labels": ["bug"] },
                { "number": 1235, "title": "Document retry jitter", "labels": ["docs"] },
            ],
        },
        "pr": { "url": "https://github.com/workflow-rs/workflow/pull/9", "draft": false },
        "ci": { "passed": true, "duration_ms": 81234 },
    })
}

/// The floor: the same lookups and text, written by hand with `format!`.
fn floor(data: &Value) -> String {
    let issue = &data["list_issues"]["issues"][0];
    let reviewer = data["pr"].get("reviewer").and_then(Value::as_str).unwrap_or("nobody");
    let ci = if data["ci"]["passed"].as_bool().unwrap_or(false) { "green" } else { "red" };
    format!(
        "Fixes #{} in {}/{}: {} (reviewer: {}, CI {})",
        issue["number"],
        data["repo"]["owner"]["login"].as_str().unwrap_or_default(),
        data["repo"]["name"].as_str().unwrap_or_default(),
        issue["title"].as_str().unwrap_or_default(),
        reviewer,
        ci,
    )
}

fn templates(c: &mut Criterion) {
    let data = data();
    let parsed = template(TEMPLATE).expect("the template parses");
    let mut env = minijinja::Environment::new();
    env.add_template("params", JINJA).expect("the Jinja template compiles");
    let jinja = env.get_template("params").expect("the template was added");
    // Converted once, outside the timed loop, as `workflow` reads the `serde_json::Value` as is.
    let jinja_data = minijinja::Value::from_serialize(&data);

    let ours = render_text(&parsed, &data, Limits::default()).expect("the template renders");
    let theirs = jinja.render(&jinja_data).expect("the Jinja template renders");
    assert_eq!(ours, EXPECTED);
    assert_eq!(theirs, EXPECTED);
    assert_eq!(floor(&data), EXPECTED);

    let mut group = c.benchmark_group("template_render");
    group.bench_function("floor_format", |b| b.iter(|| floor(black_box(&data))));
    group.bench_function("workflow", |b| {
        b.iter(|| render_text(black_box(&parsed), black_box(&data), Limits::default()))
    });
    group.bench_function("minijinja", |b| b.iter(|| jinja.render(black_box(&jinja_data))));
    group.finish();
}

/// A `default` on a name the scope lacks, in a scope of 50 step results: the case where a
/// failed lookup's cost shows.
fn default_on_missing_name(c: &mut Criterion) {
    let data = Value::Object((0..50).map(|i| (format!("step_number_{i}"), json!({ "ok": true }))).collect());
    let parsed = template("reviewer: {{reviewer|default:'nobody'}}").expect("the template parses");
    let mut env = minijinja::Environment::new();
    env.add_template("missing", "reviewer: {{ reviewer|default('nobody') }}").expect("it compiles");
    let jinja = env.get_template("missing").expect("the template was added");
    let jinja_data = minijinja::Value::from_serialize(&data);
    let floor = |data: &Value| {
        format!("reviewer: {}", data.get("reviewer").and_then(Value::as_str).unwrap_or("nobody"))
    };

    let expected = "reviewer: nobody";
    assert_eq!(render_text(&parsed, &data, Limits::default()).expect("it renders"), expected);
    assert_eq!(jinja.render(&jinja_data).expect("it renders"), expected);
    assert_eq!(floor(&data), expected);

    let mut group = c.benchmark_group("template_default_missing_name");
    group.bench_function("floor_format", |b| b.iter(|| floor(black_box(&data))));
    group.bench_function("workflow", |b| {
        b.iter(|| render_text(black_box(&parsed), black_box(&data), Limits::default()))
    });
    group.bench_function("minijinja", |b| b.iter(|| jinja.render(black_box(&jinja_data))));
    group.finish();
}

criterion_group!(benches, templates, default_on_missing_name);
criterion_main!(benches);
