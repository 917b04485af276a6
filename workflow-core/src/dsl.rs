//! The body of a `workflow!` as text (a `.wf` file), read into the [model](crate::model) with
//! byte ranges of the file as spans: literals, `<<references>>`, interpolated strings, Rust
//! expressions in braces, `depends`, `if`, `retry`, `timeout`, `on_error`.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::{Expr, Literal, Part, Path, Span, Template};
use crate::error::ParseError;
use crate::model::{
    After, Arg, Call, Condition, ForEach, Input, Name, OnError, Ref, Retry, RustExpr, Spanned, Step,
    TemplateValue, Trigger, Value, Workflow,
};
use crate::parse::{DslPart, Grammar, Rule, dsl_string, expr_from, path_from};
use crate::policy::duration_ms;

/// Parses workflow text: one or more `name(inputs) { steps }`.
pub fn workflows(src: &str) -> Result<Vec<Workflow<Span>>, ParseError> {
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

fn workflow(src: &str, pair: Pair<'_, Rule>) -> Result<Workflow<Span>, ParseError> {
    let mut doc = Vec::new();
    let mut name = Name::new(String::new(), span(&pair));
    let mut inputs = Vec::new();
    let mut steps = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc_line => {
                let text = part.into_inner().next().map_or("", |t| t.as_str());
                doc.push(text.strip_prefix(' ').unwrap_or(text).to_owned());
            }
            Rule::ident => name = name_of(&part),
            Rule::inputs => {
                for input in part.into_inner() {
                    let mut inner = input.into_inner();
                    let Some(input_name) = inner.next() else { continue };
                    let ty = inner.next().map(|p| p.as_str().split_whitespace().collect::<String>());
                    inputs.push(Input { name: name_of(&input_name), ty });
                }
            }
            Rule::step_def => steps.push(step(src, part)?),
            _ => {}
        }
    }
    Ok(Workflow { name, doc: doc.join("\n").trim().to_owned(), inputs: Some(inputs), steps })
}

fn step(src: &str, pair: Pair<'_, Rule>) -> Result<Step<Span>, ParseError> {
    let whole = span(&pair);
    let mut inner = pair.into_inner();
    let id = inner.next().map_or_else(|| Name::new(String::new(), whole), |p| name_of(&p));
    let tool = inner.next().map_or_else(|| Name::new(String::new(), whole), |p| name_of(&p));
    let mut step = Step {
        id,
        tool,
        args: Vec::new(),
        depends: Vec::new(),
        condition: None,
        retry: None,
        timeout: None,
        deadline: None,
        on_error: None,
        fallback: None,
        compensate: None,
        after: None,
        for_each: None,
    };
    let mut seen: Vec<&str> = Vec::new();
    for part in inner {
        let rule = part.as_rule();
        if let Some(keyword) = clause_keyword(rule) {
            if seen.contains(&keyword) {
                let at = part.as_span().start();
                return Err(ParseError::at(
                    src,
                    at,
                    format!("duplicate `{keyword}` clause; a step takes one"),
                ));
            }
            seen.push(keyword);
        }
        match rule {
            Rule::args => step.args = args(src, part)?,
            Rule::depends_clause => step.depends.extend(part.into_inner().map(|n| name_of(&n))),
            Rule::if_clause => {
                if let Some(e) = part.into_inner().next() {
                    step.condition = Some(condition(src, e)?);
                }
            }
            Rule::retry_clause => step.retry = Some(retry(part)),
            Rule::timeout_clause => step.timeout = part.into_inner().next().and_then(|d| duration(&d)),
            Rule::deadline_clause => step.deadline = part.into_inner().next().and_then(|d| duration(&d)),
            Rule::on_error_clause => {
                let at = span(&part);
                let action = match part.into_inner().next() {
                    Some(fallback) if fallback.as_rule() == Rule::on_error_fallback => {
                        step.fallback = fallback.into_inner().next().map(|c| call(src, c)).transpose()?;
                        OnError::Fallback
                    }
                    Some(action) if action.as_str() == "skip" => OnError::Skip,
                    _ => OnError::Abort,
                };
                step.on_error = Some(Spanned::new(action, at));
            }
            Rule::compensate_clause => {
                step.compensate = part.into_inner().next().map(|c| call(src, c)).transpose()?;
            }
            Rule::for_clause => {
                let mut inner = part.into_inner();
                if let (Some(item), Some(list)) = (inner.next(), inner.next()) {
                    let Value::Ref(list) = value(src, list)? else { continue };
                    let mut for_each = ForEach { item: name_of(&item), list, max: None, tolerate: None };
                    for option in inner {
                        let rule = option.as_rule();
                        let Some(count) = option.into_inner().next() else { continue };
                        let n = Spanned::new(count.as_str().parse().unwrap_or(u64::MAX), span(&count));
                        match rule {
                            Rule::for_max => for_each.max = Some(n),
                            _ => for_each.tolerate = Some(n),
                        }
                    }
                    step.for_each = Some(for_each);
                }
            }
            Rule::after_clause => {
                let mut inner = part.into_inner();
                if let (Some(name), Some(trigger)) = (inner.next(), inner.next()) {
                    let when = if trigger.as_str() == "failed" { Trigger::Failed } else { Trigger::Always };
                    step.after =
                        Some(After { step: name_of(&name), when: Spanned::new(when, span(&trigger)) });
                }
            }
            _ => {}
        }
    }
    Ok(step)
}

/// `name: value, …` in a call.
fn args(src: &str, pair: Pair<'_, Rule>) -> Result<Vec<Arg<Span>>, ParseError> {
    let mut args = Vec::new();
    for arg in pair.into_inner() {
        let mut kv = arg.into_inner();
        let Some(arg_name) = kv.next() else { continue };
        let name = name_of(&arg_name);
        let Some(v) = kv.next().and_then(|v| v.into_inner().next()) else {
            let at = arg_name.as_span().end();
            return Err(ParseError::at(src, at, format!("expected a value for `{}`", name.value)));
        };
        args.push(Arg { name, value: value(src, v)? });
    }
    Ok(args)
}

/// `tool(args)` of a fallback or a compensation.
fn call(src: &str, pair: Pair<'_, Rule>) -> Result<Call<Span>, ParseError> {
    let whole = span(&pair);
    let mut inner = pair.into_inner();
    let tool = inner.next().map_or_else(|| Name::new(String::new(), whole), |p| name_of(&p));
    let args = match inner.next() {
        Some(a) => args(src, a)?,
        None => Vec::new(),
    };
    Ok(Call { tool, args })
}

/// The keyword of a clause rule; a step takes each clause once.
fn clause_keyword(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::depends_clause => "depends",
        Rule::if_clause => "if",
        Rule::retry_clause => "retry",
        Rule::timeout_clause => "timeout",
        Rule::deadline_clause => "deadline",
        Rule::on_error_clause => "on_error",
        Rule::compensate_clause => "compensate",
        Rule::after_clause => "after",
        Rule::for_clause => "for",
        _ => return None,
    })
}

fn span(pair: &Pair<'_, Rule>) -> Span {
    Span { start: pair.as_span().start(), end: pair.as_span().end() }
}

fn name_of(pair: &Pair<'_, Rule>) -> Name<Span> {
    Name::new(pair.as_str().to_owned(), span(pair))
}

fn duration(pair: &Pair<'_, Rule>) -> Option<Spanned<f64, Span>> {
    duration_ms(pair.as_str()).map(|ms| Spanned::new(ms, span(pair)))
}

fn retry(pair: Pair<'_, Rule>) -> Retry<Span> {
    let whole = span(&pair);
    let mut retry = Retry {
        count: Spanned::new(0, whole),
        backoff: None,
        multiplier: None,
        max: None,
        jitter: false,
        on: Vec::new(),
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::retry_count => {
                retry.count = Spanned::new(part.as_str().parse().unwrap_or(u64::MAX), span(&part))
            }
            Rule::retry_backoff => {
                for p in part.into_inner() {
                    match p.as_rule() {
                        Rule::duration => retry.backoff = duration(&p),
                        _ => {
                            retry.multiplier = p.as_str()[1..].parse().ok().map(|m| Spanned::new(m, span(&p)))
                        }
                    }
                }
            }
            Rule::retry_max => retry.max = part.into_inner().next().and_then(|d| duration(&d)),
            Rule::jitter => retry.jitter = true,
            Rule::retry_on => retry.on = part.into_inner().map(|c| name_of(&c)).collect(),
            _ => {}
        }
    }
    retry
}

/// A path found in text that starts at byte `base` of the file, with its span in the file.
fn located(path: &Path, base: usize) -> Ref<Span> {
    let span = Span { start: base + path.span.start, end: base + path.span.end };
    Ref { path: path.clone(), span }
}

fn condition(src: &str, pair: Pair<'_, Rule>) -> Result<Condition<Span>, ParseError> {
    let at = span(&pair);
    if pair.as_rule() == Rule::rust_block {
        let (source, refs) = rust_block(src, &pair)?;
        return Ok(Condition { expr: None, source, refs, span: at });
    }
    let expr: Expr = expr_from(src, pair.clone())?;
    // Paths of a condition parsed in the file already carry file positions.
    let refs = expr.paths().into_iter().map(|p| located(p, 0)).collect();
    Ok(Condition { expr: Some(expr), source: pair.as_str().trim().to_owned(), refs, span: at })
}

/// The source inside `{ … }` and the references in it, located in the file.
fn rust_block(src: &str, pair: &Pair<'_, Rule>) -> Result<(String, Vec<Ref<Span>>), ParseError> {
    let inner = pair.clone().into_inner().next();
    let (text, base) = inner.map_or(("", pair.as_span().start()), |p| (p.as_str(), p.as_span().start()));
    let parts = dsl_string(text).map_err(|e| ParseError::at(src, base + e.offset, e.message))?;
    let refs = parts
        .iter()
        .filter_map(|p| match p {
            DslPart::Ref(path) => Some(located(path, base)),
            DslPart::Text(_) => None,
        })
        .collect();
    Ok((text.trim().to_owned(), refs))
}

fn value(src: &str, pair: Pair<'_, Rule>) -> Result<Value<Span>, ParseError> {
    Ok(match pair.as_rule() {
        Rule::angle_ref => {
            let p = pair.into_inner().next().ok_or_else(|| ParseError::at(src, 0, "expected a reference"))?;
            Value::Ref(located(&path_from(src, p)?, 0))
        }
        Rule::rust_string => {
            let start = template_start(&pair);
            let text = rust_string_value(pair);
            let parts = dsl_string(&text).map_err(|e| ParseError::at(src, start + e.offset, e.message))?;
            text_value(parts, |path| located(path, start).span)
        }
        Rule::rust_block => {
            let at = span(&pair);
            let (source, refs) = rust_block(src, &pair)?;
            Value::Rust(RustExpr { source, refs, span: at })
        }
        Rule::signed_number => Value::Literal(Literal::Number(pair.as_str().to_owned())),
        _ => Value::Literal(Literal::Bool(pair.as_str() == "true")),
    })
}

/// A string literal's value from its parts: plain text, or a template of its text and
/// references, each reference spanned by `span_of`. Used for strings read from text and from
/// `workflow!` tokens alike.
pub fn text_value<S>(parts: Vec<DslPart>, mut span_of: impl FnMut(&Path) -> S) -> Value<S> {
    match parts.as_slice() {
        [] => return Value::Literal(Literal::Str(String::new())),
        [DslPart::Text(text)] => return Value::Literal(Literal::Str(text.clone())),
        _ => {}
    }
    let mut refs = Vec::new();
    let parts = parts
        .into_iter()
        .map(|part| match part {
            DslPart::Text(t) => Part::Text(t),
            DslPart::Ref(path) => {
                refs.push(Ref { span: span_of(&path), path: path.clone() });
                Part::Expr(Expr::Path(path))
            }
        })
        .collect();
    Value::Template(TemplateValue { template: Template { parts }, refs })
}

/// Where the text of a string starts: after its opening quote (and `r#…`).
fn template_start(pair: &Pair<'_, Rule>) -> usize {
    pair.as_span().start() + pair.as_str().find('"').map_or(0, |q| q + 1)
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
    use crate::parse::condition as parse_condition;

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
                count       = count(n: { <<list_issues.issues>>.len() as u32 }) if { <<repo>>.len() > 1 };
            }
        "##;
        let wfs = workflows(src).unwrap();
        assert_eq!(wfs.len(), 1);
        let wf = &wfs[0];
        assert_eq!(wf.doc, "Create a PR for the first open issue and tell the team.");
        let inputs: Vec<(&str, Option<&str>)> =
            wf.inputs.iter().flatten().map(|i| (i.name.value.as_str(), i.ty.as_deref())).collect();
        assert_eq!(inputs, [("repo", Some("String")), ("pr_title", Some("String"))]);
        let pr = &wf.steps[1];
        let retry = pr.retry.as_ref().unwrap();
        assert_eq!(retry.count.value, 3);
        assert_eq!(retry.backoff.as_ref().map(|b| b.value), Some(2000.0));
        assert_eq!(retry.multiplier.as_ref().map(|m| m.value), Some(1.5));
        assert_eq!(retry.max.as_ref().map(|m| m.value), Some(60_000.0));
        assert!(retry.jitter);
        assert_eq!(pr.timeout.as_ref().map(|t| t.value), Some(30_000.0));
        let body = &pr.args[2].value;
        let Value::Template(t) = body else { panic!("expected a template, found {body:?}") };
        assert_eq!(&src[t.refs[0].span.start..t.refs[0].span.end], "list_issues.issues[0].number");
        let notify = &wf.steps[2];
        assert_eq!(notify.depends[0].value, "create_pr");
        assert_eq!(notify.on_error.as_ref().map(|o| o.value), Some(OnError::Skip));
        let condition = notify.condition.as_ref().unwrap();
        assert_eq!(condition.expr.as_ref().unwrap().to_string(), "{{create_pr.number}} > 0");
        assert_eq!(&src[condition.refs[0].span.start..condition.refs[0].span.end], "create_pr.number");
        let count = &wf.steps[3];
        let Value::Rust(rust) = &count.args[0].value else { panic!("expected a Rust expression") };
        assert_eq!(rust.source, "<<list_issues.issues>>.len() as u32");
        assert_eq!(&src[rust.refs[0].span.start..rust.refs[0].span.end], "list_issues.issues");
        let condition = count.condition.as_ref().unwrap();
        assert_eq!((condition.expr.is_none(), condition.source.as_str()), (true, "<<repo>>.len() > 1"));
    }

    #[test]
    fn printing_a_condition_gives_text_that_parses_to_the_same_tree() {
        for src in [
            "{{a.b}} > 3 && !{{c}} || {{d[0]['k']}} == 'x'",
            "(!a)|length > -2",
            "a ? 'y' : b|default:'n'",
            "<<s.items>>|length >= 1 && <<s.name>> != null",
        ] {
            let first = parse_condition(src).unwrap();
            let printed = first.to_string();
            let again = parse_condition(&printed).unwrap();
            assert_eq!(again.to_string(), printed, "{src}");
        }
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let err = workflows("w() {\n  a = t(x: 1)\n  b = t(x: 2);\n}").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.starts_with("expected "), "{}", err.message);
    }

    #[test]
    fn a_repeated_clause_is_an_error_at_the_second() {
        let err = workflows("w() {\n  a = t(x: 1) retry 2 timeout 1s retry 3;\n}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 34));
        assert_eq!(err.message, "duplicate `retry` clause; a step takes one");
    }
}
