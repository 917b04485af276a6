//! Malformed templates and conditions: each must give an error naming what is wrong and where it
//! is (line and column), and no input, however long or deep, may crash the process.

use std::process::Command;

use serde_json::{Value, json};
use workflow::template::{Limits, condition, eval, render, template};

/// How a case's source is read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `template()`: text with `{{ … }}`.
    T,
    /// `condition()`: one expression.
    C,
}
use Kind::{C, T};

/// A source and the whole message it must fail with.
struct Case {
    kind: Kind,
    src: &'static str,
    message: &'static str,
}

/// `KIND "source" => "message";`, one case a line.
macro_rules! cases {
    ($($kind:ident $src:literal => $message:expr;)*) => {
        &[$(Case { kind: $kind, src: $src, message: $message }),*]
    };
}

/// What a template expects after a complete operand inside `{{ … }}`.
macro_rules! after_operand {
    () => {
        "expected `?`, a filter such as `|default:'x'` or an operator such as `&&` or `==`"
    };
}
/// The same at the top level of a condition, where the text may also end.
macro_rules! after_condition {
    () => {
        "expected `?`, a filter such as `|default:'x'`, an operator such as `&&` or `==` or \
         the end of the expression"
    };
}
/// What a template expects after a path inside `{{ … }}`.
macro_rules! after_path {
    () => {
        "expected `.field`, `?`, `[index]`, a filter such as `|default:'x'` or an operator such as `&&` or \
         `==`"
    };
}
/// The message for `|default` without argument, without its position.
macro_rules! needs_argument {
    () => {
        "filter `default` needs an argument, as in `|default:'value'`"
    };
}
/// The message for an unknown filter, without its position.
macro_rules! unknown_filter {
    ($name:literal) => {
        concat!(
            "unknown filter `",
            $name,
            "`; expected one of `default`, `length`, `upper`, `lower`, `json`, `join`"
        )
    };
}

const CASES: &[Case] = cases![
    // ---- empty
    T "{{ }}" => "expected a value, found `}}` at line 1, column 4";
    T "{{}}" => "expected a value, found `}}` at line 1, column 3";
    C "{{ }}" => "expected a value, found `}}` at line 1, column 4";
    C "" => "expected a value, found the end of the text at line 1, column 1";
    C "   " => "expected a value, found the end of the text at line 1, column 4";
    // ---- paths
    T "{{a.}}" => "expected a name such as `step.field`, found `}}` at line 1, column 5";
    T "{{ a.b. }}" => "expected a name such as `step.field`, found `}}` at line 1, column 8";
    T "{{ a..b }}" => "expected a name such as `step.field`, found `.` at line 1, column 6";
    T "{{ a.1 }}" => "expected a name such as `step.field`, found `1` at line 1, column 6";
    T "{{a[}}" => "expected a string or an index such as `0`, found `}}` at line 1, column 5";
    T "{{ a[] }}" => "expected a string or an index such as `0`, found `]` at line 1, column 6";
    T "{{ a[- 1] }}" => "expected a string or an index such as `0`, found `-` at line 1, column 6";
    T "{{ a[99999999999999999999] }}" => "index `99999999999999999999` is too large at line 1, column 6";
    T "{{ a[0]x }}" => concat!(after_path!(), ", found `x` at line 1, column 8");
    T "{{ 1a }}" => concat!(after_operand!(), ", found `a` at line 1, column 5");
    T "{{ a b }}" => concat!(after_operand!(), ", found `b` at line 1, column 6");
    T "{{ 'a' 'b' }}" => concat!(after_operand!(), ", found `'b'` at line 1, column 8");
    T "{{ 5 - 3 }}" => concat!(after_operand!(), ", found `-` at line 1, column 6");
    // ---- filters
    T "{{a|nope}}" => concat!(unknown_filter!("nope"), " at line 1, column 5");
    T "{{ a|UPPER }}" => concat!(unknown_filter!("UPPER"), " at line 1, column 6");
    T "{{a|default}}" => concat!(needs_argument!(), " at line 1, column 12");
    T "{{ a | default }}" => concat!(needs_argument!(), " at line 1, column 15");
    T "{{s.name|upper:'x'}}" => "filter `upper` takes no argument at line 1, column 15";
    T "{{ a|lower:'x' }}" => "filter `lower` takes no argument at line 1, column 11";
    T "{{ a|length:1 }}" => "filter `length` takes no argument at line 1, column 12";
    T "{{ a|json:'x' }}" => "filter `json` takes no argument at line 1, column 10";
    T "{{ a|join:',':'x' }}" => concat!(after_operand!(), ", found `:` at line 1, column 14");
    T "{{ |upper }}" => "expected a value, found `|` at line 1, column 4";
    // ---- operators
    T "{{a &&}}" => "expected a value, found `}}` at line 1, column 7";
    C "a &&" => "expected a value, found the end of the text at line 1, column 5";
    C "a ||" => "expected a value, found the end of the text at line 1, column 5";
    C "a == " => "expected a value, found the end of the text at line 1, column 6";
    C "a <" => "expected a value, found the end of the text at line 1, column 4";
    C "&& a" => "expected a value, found `&&` at line 1, column 1";
    T "{{ a && || b }}" => "expected a value, found `||` at line 1, column 9";
    C "a ||| b" => "expected a value, found `|` at line 1, column 5";
    C "a === b" => "expected a value, found `=` at line 1, column 5";
    C "a <> b" => "expected a value, found `>` at line 1, column 4";
    C "a = 1" => concat!(after_condition!(), ", found `=` at line 1, column 3");
    // ---- `? :`
    T "{{a ? : 'y'}}" => "expected a value, found `:` at line 1, column 7";
    T "{{? 'x' : 'y'}}" => "expected a value, found `?` at line 1, column 3";
    T "{{ a ?? b }}" => "expected a value, found `?` at line 1, column 7";
    C "a ? b :" => "expected a value, found the end of the text at line 1, column 8";
    C "a : b" => concat!(after_condition!(), ", found `:` at line 1, column 3");
    T "{{a ? 'x'}}" => concat!(
        "expected `:`, `?`, a filter such as `|default:'x'` or an operator such as `&&` or `==`, ",
        "found `}}` at line 1, column 10",
    );
    // ---- braces
    C "a }}" => concat!(after_condition!(), ", found `}}` at line 1, column 3");
    C "}}" => "expected a value, found `}}` at line 1, column 1";
    C "{{ a }} }}" => concat!(after_condition!(), ", found `}}` at line 1, column 9");
    T "{{a}}{{" => "expected a value, found the end of the text at line 1, column 8";
    T "{{{ a }}}" => "expected a value, found `{` at line 1, column 3";
    C "a)" => concat!(
        "expected `.field`, `?`, `[index]`, a filter such as `|default:'x'`, an operator such as `&&` or ",
        "`==` or the end of the expression, found `)` at line 1, column 2",
    );
    // ---- lines and columns
    T "line1\n{{ a. }}" => "expected a name such as `step.field`, found `}}` at line 2, column 6";
    T "{{ a\n&& }}" => "expected a value, found `}}` at line 2, column 4";
    T "a\r\nb\r\n{{ . }}" => "expected a value, found `.` at line 3, column 4";
    T "one\ntwo\nthree {{ x|nope }}" => concat!(unknown_filter!("nope"), " at line 3, column 12");
    T "\t{{ . }}" => "expected a value, found `.` at line 1, column 5";
    T "é {{ a. }}" => "expected a name such as `step.field`, found `}}` at line 1, column 8";
    T "日本 {{ . }}" => "expected a value, found `.` at line 1, column 7";
    C "a &&\n\n  ||" => "expected a value, found `||` at line 3, column 3";
    C "a\n  && (b ||\n  )" => "expected a value, found `)` at line 3, column 3";
];

/// Cases whose message is wrong or unhelpful today. The wording here is a proposal: what matters is
/// what each comment says. Move a case up to `CASES` once fixed.
const KNOWN_BUGS: &[Case] = cases![
    // An unclosed `{{`, `(` or `[`: the message lists everything but the closer that is missing.
    T "Hello {{name" => "unclosed `{{`: expected `}}`, found the end of the text at line 1, column 13";
    T "{{ a }" => "unclosed `{{`: expected `}}`, found `}` at line 1, column 6";
    C "{{ a" => "unclosed `{{`: expected `}}`, found the end of the text at line 1, column 5";
    T "{{ (a }}" => "unclosed `(`: expected `)`, found `}}` at line 1, column 7";
    C "(a" => "unclosed `(`: expected `)`, found the end of the text at line 1, column 3";
    // Today: "expected `.field`, … found `[0` at line 1, column 5" (points at `[`, not at the gap).
    T "{{ a[0 }}" => "unclosed `[`: expected `]`, found `}}` at line 1, column 8";
    // An unterminated string: today "expected a value, found `'unterminate`", cut at 12 characters.
    T "{{'unterminated}}" => "unclosed string: expected a closing `'` at line 1, column 3";
    C "\"unterminated" => "unclosed string: expected a closing `\"` at line 1, column 1";
    T "{{ a[\"x }}" => "unclosed string: expected a closing `\"` at line 1, column 6";
    // "found" shows the next 12 non-blank characters (`x]}}`), not the token.
    T "{{a[x]}}" => "expected a string or an index such as `0`, found `x` at line 1, column 5";
    // After `|`: "expected a name such as `step.field`", but a filter name is wanted.
    T "{{ a | }}" => "expected a filter such as `|default:'x'`, found `}}` at line 1, column 8";
    // Where a value is wanted after `!` or `default:`, the list names `<<reference>>` and repeats
    // itself ("… a string, a value or a value: `<<reference>>`, a string, a number, …").
    C "!" => "expected a value, found the end of the text at line 1, column 2";
    T "{{ !}}" => "expected a value, found `}}` at line 1, column 5";
    T "{{a|default:}}" => "expected a value, found `}}` at line 1, column 13";
    // `//` starts a comment in expressions since the DSL's `COMMENT` rule joined the grammar: this
    // condition is `yes` (true) today, and a `//` in a template eats the closing `}}`.
    C "yes // && no" => concat!(after_condition!(), ", found `//` at line 1, column 5");
    T "{{ a // }} x" => concat!(after_operand!(), ", found `//` at line 1, column 6");
    // A number too large for f64 silently becomes `null`.
    T "{{ 1e999 }}" => "number `1e999` is too large at line 1, column 4";
];

fn parse(case: &Case) -> Result<(), String> {
    match case.kind {
        T => template(case.src).map(drop),
        C => condition(case.src).map(drop),
    }
    .map_err(|e| e.to_string())
}

fn failures(cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .filter_map(|case| {
            let got = parse(case);
            (got.as_ref().err().map(String::as_str) != Some(case.message)).then(|| {
                format!(
                    "{:?} {:?}\n      want Err({:?})\n      got  {got:?}",
                    case.kind, case.src, case.message
                )
            })
        })
        .collect()
}

#[test]
fn every_case_names_what_is_wrong_and_where() {
    let failed = failures(CASES);
    assert!(failed.is_empty(), "{} of {} cases failed:\n{}", failed.len(), CASES.len(), failed.join("\n"));
}

#[test]

fn known_bugs() {
    let failed = failures(KNOWN_BUGS);
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        KNOWN_BUGS.len(),
        failed.join("\n")
    );
}

#[test]
fn parse_errors_carry_their_position_as_fields() {
    let err = template("ab\ncd {{ x. }}").unwrap_err();
    assert_eq!((err.line, err.column, err.offset), (2, 9, 11));
    assert_eq!(err.message, "expected a name such as `step.field`, found `}}`");
    assert_eq!(err.to_string(), format!("{} at line 2, column 9", err.message));
}

// ---------------------------------------------------------------- nesting

const DEEP: usize = 10_000;

fn nested(open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(DEEP), close.repeat(DEEP))
}

#[test]
fn ten_thousand_parentheses_are_an_error_not_a_stack_overflow() {
    let err = template(&format!("{{{{{}}}}}", nested("(", "1", ")"))).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 66");
    let err = condition(&nested("(", "1", ")")).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 65");
    let err = template(&format!("x\n  {{{{ a|default:{} }}}}", nested("(", "1", ")"))).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 2, column 79");
}

#[test]
fn ten_thousand_prefix_operators_are_an_error_not_a_stack_overflow() {
    let err = template(&format!("{{{{{}true}}}}", "!".repeat(DEEP))).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 67");
    let err = condition(&format!("{}true", "!".repeat(DEEP))).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 65");
    let err = condition(&format!("{}1", "- ".repeat(DEEP))).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 129");
    let err = condition(&nested("!(", "1", ")")).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 130");
}

#[test]
fn ten_thousand_nested_braces_are_an_error_not_a_stack_overflow() {
    let err = condition(&nested("{{", "a", "}}")).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 65");
    let err = template(&nested("{{", "a", "}}")).unwrap_err();
    assert_eq!(err.to_string(), "expression nested deeper than 64 levels at line 1, column 66");
}

#[test]
fn nesting_up_to_the_limit_evaluates() {
    let scope = json!({ "yes": true });
    let expr = condition(&format!("{}yes{}", "(".repeat(64), ")".repeat(64))).unwrap();
    assert_eq!(*eval(&expr, &scope, Limits::default()).unwrap(), json!(true));
    let expr = condition(&format!("{}yes", "!".repeat(64))).unwrap();
    assert_eq!(*eval(&expr, &scope, Limits::default()).unwrap(), json!(true));
    let t = template(&format!("{{{{{}yes{}}}}}", "(".repeat(63), ")".repeat(63))).unwrap();
    assert_eq!(render(&t, &scope, Limits::default()).unwrap(), json!(true));
}

/// Runs `case` in a child process (this test binary, filtered to `test`), so that a stack
/// overflow, which aborts the whole process, fails only this test and names it.
fn isolated(test: &str, case: impl FnOnce()) {
    const VAR: &str = "WORKFLOW_EXPRESSIONS_ISOLATED";
    if std::env::var(VAR).as_deref() == Ok(test) {
        case();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = Command::new(exe)
        .args([test, "--exact", "--include-ignored", "--test-threads=1", "--nocapture"])
        .env(VAR, test)
        .output()
        .expect("the test binary can run itself");
    assert!(
        out.status.success(),
        "`{test}` failed in its own process ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// Parses `src` as a template and renders it: any result but a crash is acceptable here; an error
/// must be the nesting limit.
fn parses_and_renders_without_crashing(src: &str, scope: &Value) -> Result<Value, String> {
    let t = template(src).map_err(|e| e.to_string())?;
    let value = render(&t, scope, Limits::default()).map_err(|e| e.to_string());
    drop(t);
    value
}

#[test]
fn a_long_ternary_chain_is_an_error_not_a_stack_overflow() {
    isolated("a_long_ternary_chain_is_an_error_not_a_stack_overflow", || {
        let scope = json!({ "yes": true });
        for n in [1_000, DEEP] {
            let src = format!("{{{{{}2}}}}", "yes ? 1 : ".repeat(n));
            match parses_and_renders_without_crashing(&src, &scope) {
                Ok(value) => assert_eq!(value, json!(1)),
                Err(e) => assert_eq!(e, "expression nested deeper than 64 levels at line 1, column 637"),
            }
            let src = format!("{{{{{}1{}}}}}", "yes ? ".repeat(n), " : 2".repeat(n));
            match parses_and_renders_without_crashing(&src, &scope) {
                Ok(value) => assert_eq!(value, json!(1)),
                Err(e) => assert_eq!(e, "expression nested deeper than 64 levels at line 1, column 385"),
            }
        }
    });
}

#[test]
fn a_long_operator_chain_is_a_value_or_an_error_not_a_stack_overflow() {
    isolated("a_long_operator_chain_is_a_value_or_an_error_not_a_stack_overflow", || {
        let scope = json!({ "yes": true });
        for n in [1_000, DEEP, 100_000] {
            for op in [" && ", " || ", " == "] {
                let src = format!("{{{{yes{}}}}}", format!("{op}yes").repeat(n));
                if let Ok(value) = parses_and_renders_without_crashing(&src, &scope) {
                    assert_eq!(value, json!(true), "{n} × `{op}`");
                }
            }
        }
    });
}

#[test]
fn a_long_filter_chain_is_a_value_or_an_error_not_a_stack_overflow() {
    isolated("a_long_filter_chain_is_a_value_or_an_error_not_a_stack_overflow", || {
        let scope = json!({ "name": "ada" });
        for n in [1_000, DEEP, 100_000] {
            let src = format!("{{{{name{}}}}}", "|upper".repeat(n));
            if let Ok(value) = parses_and_renders_without_crashing(&src, &scope) {
                assert_eq!(value, json!("ADA"));
            }
            let src = format!("{{{{x{}}}}}", "|default:x".repeat(n));
            if let Err(e) = parses_and_renders_without_crashing(&src, &scope) {
                assert!(e == "unknown name `x`" || e.starts_with("expression"), "{e}");
            }
        }
    });
}

// ---------------------------------------------------------------- size

const MAX_LEN: usize = 1 << 20;

#[test]
fn a_two_megabyte_template_is_an_error() {
    let err = template(&"x".repeat(2 * MAX_LEN)).unwrap_err();
    assert_eq!(err.to_string(), "template longer than 1048576 bytes at line 1, column 1048577");
    let err = template(&"line\n".repeat(2 * MAX_LEN / 5)).unwrap_err();
    assert_eq!(err.to_string(), "template longer than 1048576 bytes at line 209716, column 2");
    let err = template(&"{{a}}".repeat(2 * MAX_LEN / 5)).unwrap_err();
    assert_eq!(err.to_string(), "template longer than 1048576 bytes at line 1, column 1048577");
}

#[test]
fn a_template_of_exactly_the_limit_parses() {
    let text = "x".repeat(MAX_LEN);
    let t = template(&text).unwrap();
    assert_eq!(render(&t, &json!({}), Limits::default()).unwrap(), json!(text));
    let src = format!("{}{{{{a}}}}", "x".repeat(MAX_LEN - 5));
    assert_eq!(src.len(), MAX_LEN);
    let t = template(&src).unwrap();
    let want = format!("{}1", "x".repeat(MAX_LEN - 5));
    assert_eq!(render(&t, &json!({ "a": 1 }), Limits::default()).unwrap(), json!(want));
    assert_eq!(template(&format!("{src} ")).unwrap_err().column, MAX_LEN + 1);
}

#[test]
fn a_two_megabyte_condition_is_an_error() {
    let err = condition(&"a".repeat(2 * MAX_LEN)).unwrap_err();
    assert_eq!(err.to_string(), "condition longer than 1048576 bytes at line 1, column 1048577");
}

#[test]
fn the_size_limit_inside_a_character_gives_its_column() {
    // 1048576 = 3 × 349525 + 1: the limit falls in the 349526th `€`. Today: column 700001.
    let err = template(&"€".repeat(700_000)).unwrap_err();
    assert_eq!(err.to_string(), "template longer than 1048576 bytes at line 1, column 349526");
}
