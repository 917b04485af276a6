//! The expression language case by case: every construct of templates and conditions, each row
//! with its context and its whole result or message. Malformed input is in
//! `expressions_malformed.rs`, properties over random input in `expressions_props.rs`.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use workflow::template::{Limits, condition, eval, render, render_text, template, truthy};

/// How a row's source is read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `template()` then `render()`: text with `{{ … }}`.
    T,
    /// `condition()` then `eval()`: one expression, `{{ … }}` around operands allowed.
    C,
}
use Kind::{C, T};

/// What a row must give.
enum Want {
    /// A JSON value, written as JSON text (`3` is an integer, `3.0` a float).
    Value(&'static str),
    /// A string value, written without JSON quotes.
    Text(&'static str),
    /// The whole error message: `ParseError` with its line and column, or `EvalError`.
    Error(&'static str),
}
use Want::{Error, Text, Value as Val};

struct Row {
    kind: Kind,
    src: &'static str,
    /// The names in scope, as a JSON object.
    ctx: &'static str,
    want: Want,
}

/// `KIND "source", CONTEXT => WANT;`, one row a line.
macro_rules! rows {
    ($($kind:ident $src:literal, $ctx:expr => $want:expr;)*) => {
        &[$(Row { kind: $kind, src: $src, ctx: $ctx, want: $want }),*]
    };
}

/// The context of most rows.
const DATA: &str = r#"{
    "name": "Ada", "count": 3, "ratio": 0.5, "zero": 0, "empty": "", "nothing": null,
    "yes": true, "no": false, "tags": ["a", "b", "c"], "nums": [1, 2, 3], "none": [],
    "s": { "count": 5 },
    "step": {
        "field": { "nested": "deep" },
        "items": [{ "name": "first" }, { "name": "last" }],
        "user": { "email": "Ada@Example.COM" },
        "weird key": 7,
        "text": "{{name}}"
    }
}"#;

/// The issue's seed examples.
const SEED: &str = r#"{
    "create_pr": { "url": "https://github.com/o/r/pull/7", "success": true },
    "step_id": {
        "user": { "email": "dev@example.com" },
        "items": [{ "name": "widget" }],
        "success": false
    }
}"#;

const ROWS: &[Row] = rows![
    // ---- variables and paths
    T "{{name}}", DATA => Text("Ada");
    T "{{ name }}", DATA => Text("Ada");
    T "{{step.field.nested}}", DATA => Text("deep");
    T "{{step.items[0].name}}", DATA => Text("first");
    T "{{step.items[-1].name}}", DATA => Text("last");
    T "{{tags[-3]}}", DATA => Text("a");
    T r#"{{step["weird key"]}}"#, DATA => Val("7");
    T "{{step['field']['nested']}}", DATA => Text("deep");
    T "{{ tags[ 1 ] }}", DATA => Text("b");
    T "{{unknown}}", DATA => Error("unknown name `unknown`");
    T "{{nam}}", DATA => Error("unknown name `nam`; did you mean `name`?");
    T "{{step.field.missing}}", DATA => Error("`step.field` has no field `missing`");
    T "{{step.items[2]}}", DATA => Error("index 2 is out of range: `step.items` has 2 items");
    T "{{step.items[-3]}}", DATA => Error("index -3 is out of range: `step.items` has 2 items");
    T "{{name.first}}", DATA => Error("`name` is a string, not an object");
    T "{{count[0]}}", DATA => Error("`count` is a number, not a list");
    T "{{step.items.name}}", DATA => Error("`step.items` is a list, not an object");
    T "{{step.items[0]['nope']}}", DATA => Error("`step.items[0]` has no field `nope`");
    // ---- literals
    T "{{'single'}}", DATA => Text("single");
    T r#"{{"double"}}"#, DATA => Text("double");
    T r"{{'it\'s'}}", DATA => Text("it's");
    T r#"{{"it's"}}"#, DATA => Text("it's");
    T r#"{{"say \"hi\""}}"#, DATA => Text(r#"say "hi""#);
    T r"{{'tab\there\nnew \\ back\r'}}", DATA => Text("tab\there\nnew \\ back\r");
    T r"{{'\q'}}", DATA => Text("q");
    T "{{''}}", DATA => Text("");
    T "{{42}}", DATA => Val("42");
    T "{{007}}", DATA => Val("7");
    T "{{3.25}}", DATA => Val("3.25");
    T "{{1e3}}", DATA => Val("1000.0");
    T "{{-7}}", DATA => Val("-7");
    T "{{-1.5}}", DATA => Val("-1.5");
    T "{{true}}", DATA => Val("true");
    T "{{false}}", DATA => Val("false");
    T "{{null}}", DATA => Val("null");
    T "{{true_name}}", r#"{"true_name": 1}"# => Val("1");
    // ---- comparisons
    C "count == 3", DATA => Val("true");
    C "count != 3", DATA => Val("false");
    C "count < 4", DATA => Val("true");
    C "count <= 3", DATA => Val("true");
    C "count > 3", DATA => Val("false");
    C "count >= 3", DATA => Val("true");
    C "ratio < 1", DATA => Val("true");
    C "1 == 1.0", DATA => Val("true");
    C "'3' == 3", DATA => Val("false");
    C "'3' != 3", DATA => Val("true");
    C "name == 'Ada'", DATA => Val("true");
    C "'abc' < 'abd'", DATA => Val("true");
    C "'b' >= 'a'", DATA => Val("true");
    C "'B' < 'a'", DATA => Val("true");
    C "nothing == null", DATA => Val("true");
    C "tags != none", DATA => Val("true");
    C "step.field == step.field", DATA => Val("true");
    C "count < 'x'", DATA => Error("cannot compare a number with a string");
    C "nothing < 1", DATA => Error("cannot compare null with a number");
    C "tags > none", DATA => Error("cannot compare a list with a list");
    C "-count < 0", DATA => Val("true");
    C "-'x' < 0", DATA => Error("cannot negate a string");
    // ---- `&&`, `||`, `!`, parentheses, precedence
    C "yes && count > 2", DATA => Val("true");
    C "yes && no", DATA => Val("false");
    C "no || 'fallback'", DATA => Text("fallback");
    C "name || 'x'", DATA => Text("Ada");
    C "nothing || zero || empty || 'last'", DATA => Text("last");
    C "yes && 1 && 'end'", DATA => Text("end");
    C "empty && missing", DATA => Text("");
    C "yes || missing", DATA => Val("true");
    C "no || missing", DATA => Error("unknown name `missing`");
    C "!yes", DATA => Val("false");
    C "!empty", DATA => Val("true");
    C "!none", DATA => Val("true");
    C "!!name", DATA => Val("true");
    C "! ! zero", DATA => Val("false");
    C "yes || yes && no", DATA => Val("true");
    C "(yes || yes) && no", DATA => Val("false");
    C "count > 2 == true", DATA => Val("true");
    C "!(count > 5)", DATA => Val("true");
    C "((((count))))", DATA => Val("3");
    C "!missing", DATA => Error("unknown name `missing`");
    // ---- ternary
    T "{{yes ? 'x' : 'y'}}", DATA => Text("x");
    T "{{zero ? 'x' : 'y'}}", DATA => Text("y");
    T "{{count > 2 ? 'many' : 'few'}}", DATA => Text("many");
    T "{{no ? 'a' : yes ? 'b' : 'c'}}", DATA => Text("b");
    T "{{yes ? no ? 1 : 2 : 3}}", DATA => Val("2");
    T "{{no || yes ? tags : none}}", DATA => Val(r#"["a","b","c"]"#);
    T "{{no ? missing : 'y'}}", DATA => Text("y");
    T "{{yes ? missing : 'y'}}", DATA => Error("unknown name `missing`");
    T "{{yes ? (name|upper) : 'none'}}", DATA => Text("ADA");
    // ---- filters
    T "{{missing|default:'fallback'}}", DATA => Text("fallback");
    T "{{step.nope|default:'fallback'}}", DATA => Text("fallback");
    T "{{nothing|default:'fallback'}}", DATA => Text("fallback");
    T "{{step.items[9].name|default:'none'}}", DATA => Text("none");
    T "{{no|default:'fallback'}}", DATA => Val("false");
    T "{{empty|default:'fallback'}}", DATA => Text("");
    T "{{missing|default:count}}", DATA => Val("3");
    T "{{missing | default : 'spaced'}}", DATA => Text("spaced");
    T "{{missing|default:other}}", DATA => Error("unknown name `other`");
    T "{{name.first|default:'x'}}", DATA => Error("`name` is a string, not an object");
    T "{{tags|length}}", DATA => Val("3");
    T "{{name|length}}", DATA => Val("3");
    T "{{'héllo'|length}}", DATA => Val("5");
    T "{{step.user|length}}", DATA => Val("1");
    T "{{count|length}}", DATA => Error("filter `length` needs a list, an object or a string, found a number");
    T "{{nothing|length}}", DATA => Error("filter `length` needs a list, an object or a string, found null");
    T "{{name|upper}}", DATA => Text("ADA");
    T "{{step.user.email|lower}}", DATA => Text("ada@example.com");
    T "{{count|upper}}", DATA => Error("filter `upper` needs a string, found a number");
    T "{{tags|lower}}", DATA => Error("filter `lower` needs a string, found a list");
    T "{{tags|json}}", DATA => Text(r#"["a","b","c"]"#);
    T "{{name|json}}", DATA => Text(r#""Ada""#);
    T "{{nothing|json}}", DATA => Text("null");
    T "{{step.field|json}}", DATA => Text(r#"{"nested":"deep"}"#);
    T "{{tags|join:','}}", DATA => Text("a,b,c");
    T "{{tags|join}}", DATA => Text("a,b,c");
    T "{{tags|join:' | '}}", DATA => Text("a | b | c");
    T "{{tags|join:''}}", DATA => Text("abc");
    T "{{nums|join:0}}", DATA => Text("10203");
    T "{{none|join}}", DATA => Text("");
    T "{{step.items|join:';'}}", DATA => Text(r#"{"name":"first"};{"name":"last"}"#);
    T "{{name|join}}", DATA => Error("filter `join` needs a list, found a string");
    T "{{missing|default:'abc'|upper}}", DATA => Text("ABC");
    T "{{tags|join:'-'|length}}", DATA => Val("5");
    T "{{tags[0]|upper}}", DATA => Text("A");
    T "{{missing|upper}}", DATA => Error("unknown name `missing`");
    C "!tags|length", DATA => Val("false");
    // ---- a lone `{{ … }}` keeps its type; anything else is text
    T "{{tags}}", DATA => Val(r#"["a","b","c"]"#);
    T "{{count}}", DATA => Val("3");
    T "{{ratio}}", DATA => Val("0.5");
    T "{{step.field}}", DATA => Val(r#"{"nested":"deep"}"#);
    T "{{nothing}}", DATA => Val("null");
    T "n={{count}}", DATA => Text("n=3");
    T " {{count}}", DATA => Text(" 3");
    T "{{name}} has {{tags}}", DATA => Text(r#"Ada has ["a","b","c"]"#);
    T "[{{nothing}}]", DATA => Text("[]");
    T "{{step.field}}!", DATA => Text(r#"{"nested":"deep"}!"#);
    T "{{yes}} {{ratio}} {{-count}}", DATA => Text("true 0.5 -3");
    T "{{name}}{{name}}", DATA => Text("AdaAda");
    T "plain text", DATA => Text("plain text");
    T "", DATA => Text("");
    T "a } b }} c {", DATA => Text("a } b }} c {");
    T "{{name}}}", DATA => Text("Ada}");
    T "line 1\n{{name}}\n", DATA => Text("line 1\nAda\n");
    // ---- values are never evaluated again
    T "{{step.text}}", DATA => Text("{{name}}");
    T "say {{step.text}}", DATA => Text("say {{name}}");
    C "step.text == '{{name}}'", DATA => Val("true");
    // ---- conditions with `{{ }}` around operands
    C "{{s.count}} > 3", DATA => Val("true");
    C "{{ s.count > 3 }}", DATA => Val("true");
    C "{{s.count}} > 3 && {{yes}}", DATA => Val("true");
    C "{{tags|length}} == 3", DATA => Val("true");
    C "{{ {{count}} }} == 3", DATA => Val("true");
    C "{{name}} == 'Ada' ? 'hi' : 'who'", DATA => Text("hi");
    // ---- the seed's examples
    T "PR created: {{create_pr.url}}", SEED => Text("PR created: https://github.com/o/r/pull/7");
    T "{{step_id.user.email}}", SEED => Text("dev@example.com");
    T "{{step_id.items[0].name}}", SEED => Text("widget");
    T "{{step_id.success ? 'yes' : 'no'}}", SEED => Text("no");
    T "{{create_pr.success ? 'yes' : 'no'}}", SEED => Text("yes");
    T "{{variable_name|default:'fallback'}}", SEED => Text("fallback");
    T "{{variable_name|default:'fallback'}}", r#"{"variable_name": "set"}"# => Text("set");
    T "{{variable_name|default:'fallback'}}", r#"{"variable_name": null}"# => Text("fallback");
    // ---- syntax errors (many more in expressions_malformed.rs)
    T "{{ a. }}", DATA => Error("expected a name such as `step.field`, found `}}` at line 1, column 6");
    C "count >", DATA => Error("expected a value, found the end of the text at line 1, column 8");
    T "one\ntwo {{ name|nope }}", DATA => Error(concat!(
        "unknown filter `nope`; expected one of `default`, `length`, `upper`, `lower`, `json`, `join` ",
        "at line 2, column 13",
    ));
];

/// Rows that fail today because of a bug; each names it. Move a row up to `ROWS` once fixed.
const KNOWN_BUGS: &[Row] = rows![
    // A filter without argument at the end of a ternary's `then` branch swallows the `:` as its
    // argument, so the ternary has no `else`.
    T "{{yes ? name|upper : 'none'}}", DATA => Text("ADA");
    T "{{count == 3 ? tags|length : 0}}", DATA => Val("3");
    // Numbers are compared as f64: integers above 2^53 that differ compare equal.
    C "a == b", r#"{"a": 9007199254740993, "b": 9007199254740992}"# => Val("false");
    C "a > b", r#"{"a": 9007199254740993, "b": 9007199254740992}"# => Val("true");
    C "a != b", r#"{"a": 18446744073709551615, "b": 18446744073709551614}"# => Val("true");
    // `1 == 1.0` is true but the same numbers inside a list or an object are unequal.
    C "a == b", r#"{"a": [1], "b": [1.0]}"# => Val("true");
    C "a == b", r#"{"a": {"n": 1}, "b": {"n": 1.0}}"# => Val("true");
    // A filter argument is a `primary`, so a negative number is rejected (with a message saying it
    // expected a number).
    T "{{missing|default:-1}}", DATA => Val("-1");
    // `true`, `false` and `null` cannot be field names after `.`, though `x["true"]` works.
    T "{{flags.true}}", r#"{"flags": {"true": 1}}"# => Val("1");
    T "{{flags.null}}", r#"{"flags": {"null": 2}}"# => Val("2");
    // Negating the smallest i64 fails with "cannot negate a number"; its negation fits a u64.
    C "-x", r#"{"x": -9223372036854775808}"# => Val("9223372036854775808");
];

fn run(row: &Row) -> Result<Value, String> {
    let scope: Value = serde_json::from_str(row.ctx).map_err(|e| format!("bad context: {e}"))?;
    match row.kind {
        T => {
            let t = template(row.src).map_err(|e| e.to_string())?;
            render(&t, &scope, Limits::default()).map_err(|e| e.to_string())
        }
        C => {
            let e = condition(row.src).map_err(|e| e.to_string())?;
            eval(&e, &scope, Limits::default()).map(Cow::into_owned).map_err(|e| e.to_string())
        }
    }
}

fn want(row: &Row) -> Result<Value, String> {
    match row.want {
        Val(json) => Ok(serde_json::from_str(json).map_err(|e| format!("bad expected JSON: {e}"))?),
        Text(text) => Ok(Value::String(text.to_owned())),
        Error(message) => Err(message.to_owned()),
    }
}

/// Every row that does not give what it should, described.
fn failures(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| {
            let (got, want) = (run(row), want(row));
            (got != want)
                .then(|| format!("{:?} {:?}\n      want {want:?}\n      got  {got:?}", row.kind, row.src))
        })
        .collect()
}

#[test]
fn every_row_gives_its_value_or_message() {
    assert!(ROWS.len() >= 60);
    let failed = failures(ROWS);
    assert!(failed.is_empty(), "{} of {} rows failed:\n{}", failed.len(), ROWS.len(), failed.join("\n"));
}

#[test]

fn known_bugs() {
    let failed = failures(KNOWN_BUGS);
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n{}",
        failed.len(),
        KNOWN_BUGS.len(),
        failed.join("\n")
    );
}

fn scope() -> Value {
    serde_json::from_str(DATA).expect("DATA is JSON")
}

#[test]
fn render_text_prints_typed_values_as_interpolated_text() {
    let scope = scope();
    let text = |src: &str| render_text(&template(src).expect("parses"), &scope, Limits::default());
    assert_eq!(text("{{name}}").unwrap(), "Ada");
    assert_eq!(text("{{count}}").unwrap(), "3");
    assert_eq!(text("{{ratio}}").unwrap(), "0.5");
    assert_eq!(text("{{yes}}").unwrap(), "true");
    assert_eq!(text("{{nothing}}").unwrap(), "");
    assert_eq!(text("{{tags}}").unwrap(), r#"["a","b","c"]"#);
    assert_eq!(text("{{step.field}}").unwrap(), r#"{"nested":"deep"}"#);
    assert_eq!(text("{{missing}}").unwrap_err().to_string(), "unknown name `missing`");
}

#[test]
fn a_json_map_is_a_scope_too() {
    let Value::Object(map) = scope() else { unreachable!("DATA is an object") };
    let map: Map<String, Value> = map;
    let t = template("{{name}} {{step.items[-1].name}}").unwrap();
    assert_eq!(render(&t, &map, Limits::default()).unwrap(), "Ada last");
    let err = render(&template("{{nmae}}").unwrap(), &map, Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "unknown name `nmae`");
    let err = render(&template("{{cont}}").unwrap(), &map, Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "unknown name `cont`; did you mean `count`?");
}

#[test]
fn a_scope_that_is_not_an_object_has_no_names() {
    let t = template("{{x}}").unwrap();
    let err = render(&t, &json!([1, 2]), Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "unknown name `x`");
    assert!(err.missing);
}

#[test]
fn truthiness_follows_json() {
    for falsy in [json!(null), json!(false), json!(0), json!(0.0), json!(""), json!([]), json!({})] {
        assert!(!truthy(&falsy), "{falsy} should be false");
    }
    for truthy_ in
        [json!(true), json!(1), json!(-0.5), json!("0"), json!(" "), json!([0]), json!({"a": null})]
    {
        assert!(truthy(&truthy_), "{truthy_} should be true");
    }
}

/// An evaluation error's span, `missing` flag and message for the template `src`.
fn eval_error(src: &str) -> (usize, usize, bool, String) {
    let t = template(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"));
    let err = render(&t, &scope(), Limits::default()).expect_err(src);
    (err.span.start, err.span.end, err.missing, err.message)
}

#[test]
fn evaluation_errors_point_at_the_path_and_say_whether_something_is_missing() {
    // `missing` is what `|default` replaces: absent names, fields and indexes.
    assert_eq!(eval_error("{{ absent }}"), (3, 9, true, "unknown name `absent`".into()));
    let field = "`step.field` has no field `x`".to_owned();
    assert_eq!(eval_error("ab {{ step.field.x }}"), (6, 18, true, field));
    let index = "index 5 is out of range: `tags` has 3 items".to_owned();
    assert_eq!(eval_error("{{tags[5]}}"), (2, 9, true, index));
    // A value of the wrong type is an error even under `|default`.
    let wrong = "`name` is a string, not an object".to_owned();
    assert_eq!(eval_error("{{ name.x }}"), (3, 9, false, wrong));
    let filter = "filter `upper` needs a string, found a number".to_owned();
    assert_eq!(eval_error("{{ count|upper }}"), (9, 14, false, filter));
    let compare = "cannot compare a string with a number".to_owned();
    assert_eq!(eval_error("{{ name < count }}"), (3, 15, false, compare));
}

#[test]
fn evaluation_errors_about_literals_point_at_them() {
    let compare = "cannot compare a string with a number".to_owned();
    assert_eq!(eval_error("{{ name < 1 }}"), (3, 11, false, compare.clone()));
    assert_eq!(eval_error("{{ 'x' < count }}"), (3, 14, false, compare));
    assert_eq!(eval_error("{{ -'x' }}"), (4, 7, false, "cannot negate a string".into()));
}

// ---------------------------------------------------------------- output limits

fn render_limited(src: &str, scope: &Value, max_output: usize) -> Result<Value, String> {
    let t = template(src).map_err(|e| e.to_string())?;
    render(&t, scope, Limits { max_output }).map_err(|e| e.to_string())
}

#[test]
fn join_past_the_limit_is_an_error() {
    let scope = json!({ "words": ["aaaa", "bbbb", "cccc"] });
    assert_eq!(render_limited("{{words|join:','}}", &scope, 14).unwrap(), "aaaa,bbbb,cccc");
    let err = render_limited("{{words|join:','}}", &scope, 13).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 13 bytes");
    // A long separator cannot multiply a long list past the limit either.
    let scope = json!({ "items": vec![1; 100_000], "sep": "-".repeat(10_000) });
    let err = render_limited("{{items|join:sep}}", &scope, 1 << 20).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 1048576 bytes");
}

#[test]
fn json_past_the_limit_is_an_error() {
    let scope = json!({ "words": ["aaaa", "bbbb", "cccc"] });
    assert_eq!(render_limited("{{words|json}}", &scope, 22).unwrap(), r#"["aaaa","bbbb","cccc"]"#);
    let err = render_limited("{{words|json}}", &scope, 21).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 21 bytes");
    // `json` of `json` escapes quotes, so each level grows: the limit stops the growth.
    let src = format!("{{{{words{}}}}}", "|json".repeat(40));
    let err = render_limited(&src, &scope, 1 << 20).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 1048576 bytes");
}

#[test]
fn concatenation_past_the_limit_is_an_error() {
    let scope = json!({ "big": "x".repeat(1000) });
    assert_eq!(render_limited("{{big}}{{big}}", &scope, 2000).unwrap(), json!("x".repeat(2000)));
    let err = render_limited("{{big}}{{big}}", &scope, 1999).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 1999 bytes");
    let err = render_limited("{{big}}!", &scope, 1000).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 1000 bytes");
    // Literal text counts too.
    let text = "y".repeat(50);
    assert_eq!(render_limited(&text, &scope, 50).unwrap(), json!(text));
    let err = render_limited(&text, &scope, 49).unwrap_err();
    assert_eq!(err, "the output is longer than the limit of 49 bytes");
}

#[test]
fn conditions_obey_the_limit() {
    let scope = json!({ "words": ["aaaa", "bbbb", "cccc"] });
    let expr = condition("{{words|join}}|length > 3").unwrap();
    assert_eq!(*eval(&expr, &scope, Limits { max_output: 14 }).unwrap(), json!(true));
    let err = eval(&expr, &scope, Limits { max_output: 10 }).unwrap_err();
    assert_eq!(err.to_string(), "the output is longer than the limit of 10 bytes");
}
