//! The body of a `workflow!` as text (a `.wf` file): the subset without Rust expressions —
//! literals, `<<references>>`, interpolated strings, `depends`, `if` with the expression
//! language, `retry`, `timeout`, `on_error`.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::{Expr, Path, Span};
use crate::error::ParseError;
use crate::parse::{DslPart, Grammar, Rule, dsl_string, expr_from, path_from};

/// A workflow read from text.
#[derive(Debug, Clone, PartialEq)]
pub struct DslWorkflow {
    /// Its `///` lines, joined.
    pub doc: String,
    /// Its name.
    pub name: String,
    /// `name: Type` inputs, the type as written.
    pub inputs: Vec<(String, String)>,
    /// The steps in order.
    pub steps: Vec<DslStep>,
}

/// A step read from text.
#[derive(Debug, Clone, PartialEq)]
pub struct DslStep {
    /// Its id.
    pub id: String,
    /// The tool as written (`github_create_pr`, `tools::search`).
    pub tool: String,
    /// Its arguments in order.
    pub args: Vec<(String, DslValue)>,
    /// `depends` names.
    pub depends: Vec<String>,
    /// `if` condition.
    pub condition: Option<Expr>,
    /// `retry` clause.
    pub retry: Option<DslRetry>,
    /// `timeout`, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// `on_error skip` (`Some(true)`) or `on_error abort` (`Some(false)`).
    pub on_error_skip: Option<bool>,
    /// Line of the step id, from 1.
    pub line: usize,
    /// Where things are in the source, for messages.
    pub spans: DslSpans,
}

/// Byte ranges of a step's parts in the source text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DslSpans {
    /// The step id.
    pub id: Span,
    /// The tool name.
    pub tool: Span,
    /// Each argument's value, and where its template text starts (after a string's opening
    /// quote), in the order of `args`.
    pub args: Vec<(Span, usize)>,
    /// Each `depends` name.
    pub depends: Vec<Span>,
    /// The condition.
    pub condition: Option<Span>,
}

/// `retry N [backoff D [xF]] [max D] [jitter]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DslRetry {
    /// Retries after the first attempt.
    pub count: u32,
    /// First delay, in milliseconds.
    pub backoff_ms: Option<f64>,
    /// Growth factor of the delay.
    pub multiplier: Option<f64>,
    /// Longest delay, in milliseconds.
    pub max_ms: Option<f64>,
    /// Randomised delays.
    pub jitter: bool,
}

/// An argument's value.
#[derive(Debug, Clone, PartialEq)]
pub enum DslValue {
    /// `<<reference>>`: the typed value.
    Ref(Path),
    /// A string literal, with the references inside it.
    Str(Vec<DslPart>),
    /// A number as written.
    Number(String),
    /// `true` or `false`.
    Bool(bool),
}

/// Milliseconds in a duration written `30s`, `500ms`, `1.5s`, `2m` or `1h`.
pub fn duration_ms(text: &str) -> Option<f64> {
    let (digits, unit) = if let Some(d) = text.strip_suffix("ms") {
        (d, 1.0)
    } else if let Some(d) = text.strip_suffix('s') {
        (d, 1_000.0)
    } else if let Some(d) = text.strip_suffix('m') {
        (d, 60_000.0)
    } else {
        (text.strip_suffix('h')?, 3_600_000.0)
    };
    digits.parse::<f64>().ok().map(|v| v * unit)
}

/// Parses workflow text: one or more `name(inputs) { steps }`.
pub fn workflows(src: &str) -> Result<Vec<DslWorkflow>, ParseError> {
    let stripped = strip_comments(src);
    let src = stripped.as_str();
    let mut pairs = Grammar::parse(Rule::workflow_file, src).map_err(|e| ParseError::from_pest(src, &e))?;
    let file = pairs.next().ok_or_else(|| ParseError::at(src, 0, "expected a workflow"))?;
    file.into_inner().filter(|p| p.as_rule() == Rule::workflow_def).map(|p| workflow(src, p)).collect()
}

/// `src` with its `//` comments (not `///` doc lines) blanked out, byte for byte, so that
/// positions stay those of the original text. Strings are left alone.
fn strip_comments(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // A plain or raw string: skip to its end.
                let raw_hashes = src[..i].bytes().rev().take_while(|&b| b == b'#').count();
                let raw = src[..i - raw_hashes].ends_with('r');
                i += 1;
                while i < bytes.len() {
                    if !raw && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == b'"' && bytes[i + 1..].iter().take(raw_hashes).all(|&b| b == b'#') {
                        i += 1 + if raw { raw_hashes } else { 0 };
                        break;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                let end = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                if !doc {
                    out[i..end].iter_mut().for_each(|b| *b = b' ');
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes outside strings were replaced by spaces, so the text is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| src.to_owned())
}

fn workflow(src: &str, pair: Pair<'_, Rule>) -> Result<DslWorkflow, ParseError> {
    let mut doc = Vec::new();
    let mut def =
        DslWorkflow { doc: String::new(), name: String::new(), inputs: Vec::new(), steps: Vec::new() };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc_line => {
                let text = part.into_inner().next().map_or("", |t| t.as_str());
                doc.push(text.strip_prefix(' ').unwrap_or(text).to_owned());
            }
            Rule::ident => def.name = part.as_str().to_owned(),
            Rule::inputs => {
                for input in part.into_inner() {
                    let mut inner = input.into_inner();
                    let name = inner.next().map(|p| p.as_str().to_owned()).unwrap_or_default();
                    let ty = inner
                        .next()
                        .map(|p| p.as_str().split_whitespace().collect::<String>())
                        .unwrap_or_default();
                    def.inputs.push((name, ty));
                }
            }
            Rule::step_def => def.steps.push(step(src, part)?),
            _ => {}
        }
    }
    def.doc = doc.join("\n").trim().to_owned();
    Ok(def)
}

fn step(src: &str, pair: Pair<'_, Rule>) -> Result<DslStep, ParseError> {
    let line = pair.as_span().start_pos().line_col().0;
    let mut inner = pair.into_inner();
    let mut spans = DslSpans::default();
    let id = inner.next().map(|p| {
        spans.id = span(&p);
        p.as_str().to_owned()
    });
    let tool = inner.next().map(|p| {
        spans.tool = span(&p);
        p.as_str().to_owned()
    });
    let (id, tool) = (id.unwrap_or_default(), tool.unwrap_or_default());
    let mut step = DslStep {
        id,
        tool,
        args: Vec::new(),
        depends: Vec::new(),
        condition: None,
        retry: None,
        timeout_ms: None,
        on_error_skip: None,
        line,
        spans,
    };
    for part in inner {
        match part.as_rule() {
            Rule::args => {
                for arg in part.into_inner() {
                    let mut kv = arg.into_inner();
                    let name = kv.next().map(|p| p.as_str().to_owned()).unwrap_or_default();
                    let value = match kv.next().and_then(|v| v.into_inner().next()) {
                        Some(v) => {
                            step.spans.args.push((span(&v), template_start(&v)));
                            value(src, v)?
                        }
                        None => return Err(ParseError::at(src, 0, format!("expected a value for `{name}`"))),
                    };
                    step.args.push((name, value));
                }
            }
            Rule::depends_clause => {
                for name in part.into_inner() {
                    step.spans.depends.push(span(&name));
                    step.depends.push(name.as_str().to_owned());
                }
            }
            Rule::if_clause => {
                if let Some(e) = part.into_inner().next() {
                    step.spans.condition = Some(span(&e));
                    step.condition = Some(expr_from(src, e)?);
                }
            }
            Rule::retry_clause => step.retry = Some(retry(part)),
            Rule::timeout_clause => {
                step.timeout_ms = part.into_inner().next().and_then(|d| duration_ms(d.as_str()))
            }
            Rule::on_error_clause => step.on_error_skip = Some(part.as_str().trim_end().ends_with("skip")),
            _ => {}
        }
    }
    Ok(step)
}

fn span(pair: &Pair<'_, Rule>) -> Span {
    Span { start: pair.as_span().start(), end: pair.as_span().end() }
}

/// Where the text of a value starts: after the opening quote (and `r#…`) of a string.
fn template_start(pair: &Pair<'_, Rule>) -> usize {
    let start = pair.as_span().start();
    if pair.as_rule() != Rule::rust_string {
        return start;
    }
    let text = pair.as_str();
    start + text.find('"').map_or(0, |q| q + 1)
}

fn retry(pair: Pair<'_, Rule>) -> DslRetry {
    let mut retry = DslRetry { count: 0, backoff_ms: None, multiplier: None, max_ms: None, jitter: false };
    let mut seen_backoff = false;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::retry_count => retry.count = part.as_str().parse().unwrap_or(u32::MAX),
            Rule::duration if !seen_backoff && retry.backoff_ms.is_none() && !part_is_max(&part) => {
                retry.backoff_ms = duration_ms(part.as_str());
                seen_backoff = true;
            }
            Rule::duration => retry.max_ms = duration_ms(part.as_str()),
            Rule::multiplier => retry.multiplier = part.as_str()[1..].parse().ok(),
            Rule::jitter => retry.jitter = true,
            _ => {}
        }
    }
    retry
}

/// Whether a duration follows `max` (rather than `backoff`).
fn part_is_max(part: &Pair<'_, Rule>) -> bool {
    let span = part.as_span();
    let before = &span.get_input()[..span.start()];
    before.trim_end().ends_with("max")
}

fn value(src: &str, pair: Pair<'_, Rule>) -> Result<DslValue, ParseError> {
    Ok(match pair.as_rule() {
        Rule::angle_ref => {
            let p = pair.into_inner().next().ok_or_else(|| ParseError::at(src, 0, "expected a reference"))?;
            DslValue::Ref(path_from(src, p)?)
        }
        Rule::rust_string => {
            let start = pair.as_span().start();
            let text = rust_string_value(pair);
            DslValue::Str(
                dsl_string(&text).map_err(|e| ParseError::at(src, start + 1 + e.offset, e.message))?,
            )
        }
        Rule::signed_number => DslValue::Number(pair.as_str().to_owned()),
        _ => DslValue::Bool(pair.as_str() == "true"),
    })
}

/// The value of a Rust string literal: escapes resolved, raw strings as written.
fn rust_string_value(pair: Pair<'_, Rule>) -> String {
    let Some(inner) = pair.into_inner().next() else { return String::new() };
    match inner.as_rule() {
        Rule::raw_string => inner.into_inner().next().map(|r| r.as_str().to_owned()).unwrap_or_default(),
        _ => crate::parse::unescape(inner.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::condition;

    #[test]
    fn reads_the_design_example() {
        let src = r##"
            /// Create a PR for the first open issue and tell the team.
            pub github_pr(repo: String, pr_title: String) {
                list_issues = github_list_issues(repo: <<repo>>);
                // the PR
                create_pr   = github_create_pr(
                                  repo: <<repo>>,
                                  title: <<pr_title>>,
                                  body: "Fixes #<<list_issues.issues[0].number>>",
                              ) retry 3 backoff 2s x1.5 max 1m jitter timeout 30s;
                notify      = slack_send_message(channel: "#dev", message: r#"PR "created": <<create_pr.url>>"#)
                              depends create_pr
                              if <<create_pr.number>> > 0
                              on_error skip;
            }
        "##;
        let wfs = workflows(src).unwrap();
        assert_eq!(wfs.len(), 1);
        let wf = &wfs[0];
        assert_eq!(wf.doc, "Create a PR for the first open issue and tell the team.");
        assert_eq!(
            wf.inputs,
            [("repo".to_owned(), "String".to_owned()), ("pr_title".to_owned(), "String".to_owned())]
        );
        let pr = &wf.steps[1];
        assert_eq!(pr.line, 6);
        assert_eq!(
            pr.retry,
            Some(DslRetry {
                count: 3,
                backoff_ms: Some(2000.0),
                multiplier: Some(1.5),
                max_ms: Some(60_000.0),
                jitter: true
            })
        );
        assert_eq!(pr.timeout_ms, Some(30_000.0));
        let notify = &wf.steps[2];
        assert_eq!(notify.depends, ["create_pr"]);
        assert_eq!(notify.on_error_skip, Some(true));
        assert_eq!(notify.condition.as_ref().unwrap().to_string(), "{{create_pr.number}} > 0");
        let DslValue::Str(parts) = &notify.args[1].1 else { panic!("expected a string") };
        assert_eq!(parts[0], DslPart::Text("PR \"created\": ".into()));
        assert!(matches!(&parts[1], DslPart::Ref(p) if p.to_string() == "create_pr.url"));
        assert_eq!(parts.len(), 2);
    }

    #[test]
    fn printing_a_condition_gives_text_that_parses_to_the_same_tree() {
        for src in [
            "{{a.b}} > 3 && !{{c}} || {{d[0]['k']}} == 'x'",
            "(!a)|length > -2",
            "a ? 'y' : b|default:'n'",
            "<<s.items>>|length >= 1 && <<s.name>> != null",
        ] {
            let first = condition(src).unwrap();
            let printed = first.to_string();
            let again = condition(&printed).unwrap();
            assert_eq!(again.to_string(), printed, "{src}");
        }
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let err = workflows("w() {\n  a = t(x: 1)\n  b = t(x: 2);\n}").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.starts_with("expected "), "{}", err.message);
    }
}
