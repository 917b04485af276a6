//! The meaning of a `workflow!`: its syntax tree lowered into the shared workflow model, checked
//! by the shared rule book (`workflow_core::validate`), every problem reported at its token.
//!
//! What needs the macro's own tokens is checked here (a retry count or duration literal that is
//! not one); every other rule lives in `workflow_core`, written once for both kinds of workflow.
//! Rules that need types (unknown tool, unknown or missing argument, argument type, unknown
//! output field, condition not `bool`) are left to rustc, with the generated code spanned so that
//! its errors land on the DSL tokens.

use std::borrow::Cow;
use std::collections::BTreeSet;

use proc_macro2::{Delimiter, Span, TokenTree};
use quote::ToTokens;
use syn::LitStr;
use workflow_core::ast::{Literal, Path, Segment as CoreSegment};
use workflow_core::model::{
    self, Arg, Condition, Input, Name, Ref, Retry as CoreRetry, RustExpr, Spanned, Step as CoreStep,
    Value as CoreValue, Workflow,
};
use workflow_core::validate::Checked;

use super::ast::{DurationLit, OnError, Piece, Segment, Step, StepRef, StrPart, Value, WorkflowDef};
use crate::errors::Errors;

/// A workflow ready to expand: its syntax tree for the tokens, and the checked model for the
/// graph and policies. One that broke a rule is still expanded, leniently, so that rustc reports
/// its type errors in the same build and its callers see the items they use.
pub(crate) struct CheckedDef<'a> {
    pub def: Cow<'a, WorkflowDef>,
    pub checked: Checked<Span>,
    /// For each step, the names its values read that name no input or other step: a value that
    /// reads one is left to the errors already reported.
    pub unresolved: Vec<BTreeSet<String>>,
}

/// Checks every workflow of one macro call: what to expand, and every problem of all of them.
pub(crate) fn check(defs: &[WorkflowDef]) -> (Vec<CheckedDef<'_>>, Option<syn::Error>) {
    let mut errors = Errors::default();
    let mut checked = Vec::new();
    for def in defs {
        let before = errors.count();
        let model = lower(def, &mut errors);
        match workflow_core::validate::check(model) {
            Ok(c) if errors.count() == before => {
                let unresolved = vec![BTreeSet::new(); def.steps.len()];
                checked.push(CheckedDef { def: Cow::Borrowed(def), checked: c, unresolved });
            }
            result => {
                if let Err(problems) = result {
                    problems.into_iter().for_each(|p| errors.at_span(p.span, p.message));
                }
                checked.push(lenient(def));
            }
        }
    }
    (checked, errors.finish().err())
}

/// A workflow that broke a rule, made expandable: a repeated step id or a step named like an
/// input is left out, a cycle is cut, and each step knows which of its names are unresolved.
fn lenient(def: &WorkflowDef) -> CheckedDef<'static> {
    let mut def = def.clone();
    let mut seen: BTreeSet<String> = def.inputs.iter().map(|i| i.ident.to_string()).collect();
    def.steps.retain(|s| seen.insert(s.id.to_string()));
    let model = lower(&def, &mut Errors::default());
    let graph = workflow_core::graph::Graph::lenient(&model);
    let names = model.names();
    let unresolved = model
        .steps
        .iter()
        .map(|step| {
            step.refs()
                .map(|(_, r)| r.path.root.as_str())
                .filter(|root| {
                    *root == step.id.value || (names.step(root).is_none() && !names.is_input(root))
                })
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let policies = model.steps.iter().map(workflow_core::policy::StepPolicy::of).collect();
    let checked = Checked { workflow: model, graph, policies, implicit_inputs: Vec::new() };
    CheckedDef { def: Cow::Owned(def), checked, unresolved }
}

/// The workflow as the shared model. A literal that is not what its clause takes is reported in
/// `errors` and left out, so that the rule book still checks the rest.
pub(crate) fn lower(def: &WorkflowDef, errors: &mut Errors) -> Workflow<Span> {
    let inputs = def
        .inputs
        .iter()
        .map(|i| {
            let ty = i.ty.to_token_stream().to_string().split_whitespace().collect::<String>();
            Input { name: name(&i.ident), ty: Some(ty) }
        })
        .collect();
    let steps = def.steps.iter().map(|s| step(s, errors)).collect();
    Workflow { name: name(&def.name), doc: crate::dsl::doc_text(&def.attrs), inputs: Some(inputs), steps }
}

fn name(ident: &syn::Ident) -> Name<Span> {
    Name::new(unraw(ident), ident.span())
}

fn unraw(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

fn step(step: &Step, errors: &mut Errors) -> CoreStep<Span> {
    let tool_span = step.tool.segments.last().map_or_else(|| step.id.span(), |s| s.ident.span());
    let tool = step.tool.to_token_stream().to_string().split_whitespace().collect::<String>();
    CoreStep {
        id: name(&step.id),
        tool: Name::new(tool, tool_span),
        args: args(&step.args),
        depends: step.depends.iter().map(name).collect(),
        condition: step.condition.as_ref().map(|c| Condition {
            expr: None,
            source: source_text(&c.pieces),
            refs: c.refs().into_iter().map(reference).collect(),
            span: c.span.0,
        }),
        retry: step.retry.as_ref().map(|r| CoreRetry {
            count: retry_count(&r.count, errors),
            backoff: r.backoff.as_ref().and_then(|d| duration(d, errors)),
            multiplier: r.multiplier.map(|(m, span)| Spanned::new(m, span)),
            max: r.max.as_ref().and_then(|d| duration(d, errors)),
            jitter: r.jitter,
            on: r.on.iter().map(name).collect(),
        }),
        timeout: step.timeout.as_ref().and_then(|d| duration(d, errors)),
        deadline: step.deadline.as_ref().and_then(|d| duration(d, errors)),
        on_error: step.on_error.as_ref().map(|o| match *o {
            OnError::Skip(span) => Spanned::new(model::OnError::Skip, span),
            OnError::Abort(span) => Spanned::new(model::OnError::Abort, span),
            OnError::Fallback(span) => Spanned::new(model::OnError::Fallback, span),
        }),
        fallback: step.fallback.as_ref().map(call),
        compensate: step.compensate.as_ref().map(call),
        for_each: step.for_each.as_ref().map(|f| model::ForEach {
            item: name(&f.item),
            list: reference(&f.list),
            max: f.max.as_ref().map(|m| count(m, "max", errors)),
            tolerate: f.tolerate.as_ref().map(|t| count(t, "tolerate", errors)),
        }),
        after: step.after.as_ref().map(|(step, when)| model::After {
            step: name(step),
            when: Spanned::new(
                if when == "failed" { model::Trigger::Failed } else { model::Trigger::Always },
                when.span(),
            ),
        }),
    }
}

fn args(args: &[super::ast::Arg]) -> Vec<Arg<Span>> {
    args.iter().map(|a| Arg { name: name(&a.name), value: value(&a.value) }).collect()
}

/// A fallback's or a compensation's call, its tool spanned at the tool's last segment.
fn call(call: &super::ast::Call) -> model::Call<Span> {
    let span = call.tool.segments.last().map_or_else(Span::call_site, |s| s.ident.span());
    let tool = call.tool.to_token_stream().to_string().split_whitespace().collect::<String>();
    model::Call { tool: Name::new(tool, span), args: args(&call.args) }
}

/// A `max` or `tolerate` count: a whole number without a suffix.
fn count(lit: &syn::LitInt, what: &str, errors: &mut Errors) -> Spanned<u64, Span> {
    match lit.base10_parse::<u64>() {
        Ok(n) if lit.suffix().is_empty() => Spanned::new(n, lit.span()),
        _ => {
            errors.at(lit, format_args!("expected a whole number such as `{what} 4`, found `{lit}`"));
            Spanned::new(1, lit.span())
        }
    }
}

/// A `retry` count: a whole number without a suffix (its range is a rule of the rule book).
fn retry_count(lit: &syn::Lit, errors: &mut Errors) -> Spanned<u64, Span> {
    match lit {
        syn::Lit::Int(int) if int.suffix().is_empty() => {
            Spanned::new(int.base10_parse::<u64>().unwrap_or(u64::MAX), int.span())
        }
        _ => {
            let found = lit.to_token_stream();
            errors.at(
                lit,
                format_args!("expected a whole number of retries such as `retry 3`, found `{found}`"),
            );
            Spanned::new(0, lit.span())
        }
    }
}

/// A duration literal in milliseconds: a number with a unit.
fn duration(d: &DurationLit, errors: &mut Errors) -> Option<Spanned<f64, Span>> {
    let (digits, suffix, text) = match d {
        DurationLit::Int(i) => (i.base10_digits().to_owned(), i.suffix().to_owned(), i.to_string()),
        DurationLit::Float(f) => (f.base10_digits().to_owned(), f.suffix().to_owned(), f.to_string()),
    };
    let ms = workflow_core::policy::duration_ms(&format!("{digits}{suffix}"));
    if ms.is_none() {
        errors.at_span(
            d.span(),
            format_args!("expected a duration such as `30s`, `500ms` or `2m`, found `{text}`"),
        );
    }
    ms.map(|ms| Spanned::new(ms, d.span()))
}

impl DurationLit {
    pub(crate) fn span(&self) -> Span {
        match self {
            DurationLit::Int(i) => i.span(),
            DurationLit::Float(f) => f.span(),
        }
    }
}

/// A reference, spanned at its root name.
fn reference(r: &StepRef) -> Ref<Span> {
    let segments = r
        .path
        .iter()
        .map(|segment| match segment {
            Segment::Field(f) => CoreSegment::Field(unraw(f)),
            Segment::Status(s) => CoreSegment::Field(format!("${}", unraw(s))),
            Segment::Index(i, _) => CoreSegment::Index(*i),
            Segment::Key(k, _) => CoreSegment::Key(k.clone()),
        })
        .collect();
    Ref { path: Path { root: unraw(&r.root), segments, span: Default::default() }, span: r.root.span() }
}

/// An argument's value: a whole reference, a string (with references), a plain literal, or a
/// Rust expression.
fn value(value: &Value) -> CoreValue<Span> {
    match value.pieces.as_slice() {
        [Piece::Ref(r)] => CoreValue::Ref(reference(r)),
        [Piece::Str(lit, parts)] => string(lit, parts),
        [Piece::Token(TokenTree::Literal(lit))] => match syn::parse2::<syn::Lit>(lit.to_token_stream()) {
            Ok(syn::Lit::Str(s)) => CoreValue::Literal(Literal::Str(s.value())),
            Ok(syn::Lit::Int(i)) if i.suffix().is_empty() => {
                CoreValue::Literal(Literal::Number(i.base10_digits().into()))
            }
            Ok(syn::Lit::Float(f)) if f.suffix().is_empty() => {
                CoreValue::Literal(Literal::Number(f.base10_digits().into()))
            }
            _ => rust(value),
        },
        [Piece::Token(TokenTree::Punct(minus)), Piece::Token(TokenTree::Literal(lit))]
            if minus.as_char() == '-' =>
        {
            match syn::parse2::<syn::Lit>(lit.to_token_stream()) {
                Ok(syn::Lit::Int(i)) if i.suffix().is_empty() => {
                    CoreValue::Literal(Literal::Number(format!("-{}", i.base10_digits())))
                }
                Ok(syn::Lit::Float(f)) if f.suffix().is_empty() => {
                    CoreValue::Literal(Literal::Number(format!("-{}", f.base10_digits())))
                }
                _ => rust(value),
            }
        }
        [Piece::Token(TokenTree::Ident(b))] if b == "true" || b == "false" => {
            CoreValue::Literal(Literal::Bool(b == "true"))
        }
        _ => rust(value),
    }
}

fn rust(value: &Value) -> CoreValue<Span> {
    let refs = value.refs().into_iter().map(reference).collect();
    CoreValue::Rust(RustExpr { source: source_text(&value.pieces), refs, span: value.span.0 })
}

/// A string literal with references, as the shared model's text value.
fn string(lit: &LitStr, parts: &[StrPart]) -> CoreValue<Span> {
    use workflow_core::parse::DslPart;
    let parts = parts
        .iter()
        .map(|part| match part {
            StrPart::Text(t) => DslPart::Text(t.clone()),
            StrPart::Ref(r) => DslPart::Ref(reference(r).path),
        })
        .collect();
    workflow_core::dsl::text_value(parts, |_| lit.span())
}

/// The source of a condition or expression, references as `<<path>>`.
fn source_text(pieces: &[Piece]) -> String {
    let mut out = Vec::new();
    for piece in pieces {
        out.push(match piece {
            Piece::Token(t) => t.to_string(),
            Piece::Ref(r) => format!("<<{}>>", reference(r).path),
            Piece::Str(lit, _) => LitStr::to_token_stream(lit).to_string(),
            Piece::Group(delimiter, _, inner) => {
                let (open, close) = match delimiter {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                format!("{open}{}{close}", source_text(inner))
            }
        });
    }
    join_tokens(&out)
}

/// Joins token texts with spaces, but keeps `&&`, `||`, `==`, `!=`, `<=`, `>=` whole.
fn join_tokens(tokens: &[String]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let glued = i > 0
            && matches!(
                (tokens[i - 1].as_str(), t.as_str()),
                ("&", "&") | ("|", "|") | ("=", "=") | ("!", "=") | ("<", "=") | (">", "=")
            );
        if i > 0 && !glued {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::parse::Workflows;

    fn problems(src: &str) -> Vec<(usize, usize, String)> {
        let Workflows(defs) = syn::parse_str(src).unwrap();
        match check(&defs).1 {
            None => Vec::new(),
            Some(err) => err
                .into_iter()
                .map(|e| (e.span().start().line, e.span().start().column, e.to_string()))
                .collect(),
        }
    }

    #[test]
    fn problems_point_at_the_tokens_of_the_macro_call() {
        let found = problems(
            "w(repo: String) {\n a = t(v: <<rpo>>);\n b = t(v: 1) depends a, b retry 1.5 timeout 0s;\n}",
        );
        assert_eq!(
            found,
            [
                (3, 32, "expected a whole number of retries such as `retry 3`, found `1.5`".to_owned()),
                (2, 12, "unknown step or input `rpo`; did you mean `repo`?".to_owned()),
                (3, 24, "step `b` depends on itself; remove it from `depends`".to_owned()),
                (3, 44, "a timeout of zero would fail every call; give a positive duration".to_owned()),
            ]
        );
        let found =
            problems("w(repo: String) {\n a = t(v: <<rpo>>);\n b = t(v: 1) depends a, b timeout 0s;\n}");
        assert_eq!(
            found,
            [
                (2, 12, "unknown step or input `rpo`; did you mean `repo`?".to_owned()),
                (3, 24, "step `b` depends on itself; remove it from `depends`".to_owned()),
                (3, 34, "a timeout of zero would fail every call; give a positive duration".to_owned()),
            ]
        );
    }

    #[test]
    fn values_lower_to_the_model() {
        let Workflows(defs) = syn::parse_str(
            r#"w(x: u64) { a = t(r: <<x>>, s: "n=<<x>>", n: -2, b: true, e: <<x>>.pow(2)) if <<x>> > 1 && !(<<x>> == 3); }"#,
        )
        .unwrap();
        let wf = lower(&defs[0], &mut Errors::default());
        let printed = workflow_core::print::workflow(&wf).unwrap();
        assert_eq!(
            printed,
            "w(x: u64) {\n    a = t(r: <<x>>, s: \"n=<<x>>\", n: -2, b: true, e: { <<x>> . pow (2) }) if { <<x>> > 1 && ! (<<x>> == 3) };\n}\n"
        );
    }
}
