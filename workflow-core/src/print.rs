//! The model printed back as DSL text: what `workflow!` and `WorkflowTemplate::from_dsl` read.
//!
//! Text and `workflow!` read the same syntax, so the output is valid in both (a Rust expression
//! is printed in braces, `{ <<a.items>>.len() }`, which both accept).

use std::fmt::Write as _;

use crate::ast::{Expr, Literal, Part};
use crate::model::{Arg, Name, OnError, Step, Value, Workflow};
use crate::policy::duration_text;

/// A part of a workflow that the DSL cannot express (a `null` literal, a list, a template with a
/// filter…), with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step `{step}`, {place}: {what} cannot be written in the workflow DSL")]
pub struct PrintError {
    /// The step.
    pub step: String,
    /// The argument or clause.
    pub place: String,
    /// What could not be written.
    pub what: String,
}

/// The workflow as DSL text: `/// doc`, `name(inputs) { steps }`.
///
/// ```
/// let src = "/// Greet.\ngreet(name: String) {\n    hello = say(text: \"Hello, <<name>>\") retry 2 backoff 100ms;\n}\n";
/// let [wf] = &workflow_core::dsl::workflows(src).unwrap()[..] else { unreachable!() };
/// assert_eq!(workflow_core::print::workflow(wf).unwrap(), src);
/// ```
pub fn workflow<S>(workflow: &Workflow<S>) -> Result<String, PrintError> {
    let mut out = String::new();
    for line in workflow.doc.lines() {
        let _ = writeln!(out, "/// {line}");
    }
    let inputs: Vec<String> = match &workflow.inputs {
        Some(inputs) => inputs
            .iter()
            .map(|i| format!("{}: {}", i.name.value, i.ty.as_deref().unwrap_or("serde_json::Value")))
            .collect(),
        None => crate::validate::implicit_inputs(workflow, &workflow.names())
            .into_iter()
            .map(|n| format!("{n}: serde_json::Value"))
            .collect(),
    };
    let _ = writeln!(out, "{}({}) {{", workflow.name.value, inputs.join(", "));
    for step in &workflow.steps {
        let _ = writeln!(out, "    {};", self::step(step)?);
    }
    out.push_str("}\n");
    Ok(out)
}

/// One step, without its `;`.
pub fn step<S>(step: &Step<S>) -> Result<String, PrintError> {
    let fail =
        |place: &str, what: String| PrintError { step: step.id.value.clone(), place: place.to_owned(), what };
    let call = |tool: &Name<S>, args: &[Arg<S>], within: &str| -> Result<String, PrintError> {
        let mut printed = Vec::new();
        for arg in args {
            let place = format!("{within}argument `{}`", arg.name.value);
            let value = value(&arg.value).map_err(|what| fail(&place, what))?;
            printed.push(format!("{}: {value}", arg.name.value));
        }
        Ok(format!("{}({})", tool.value, printed.join(", ")))
    };
    let mut out = format!("{} = {}", step.id.value, call(&step.tool, &step.args, "")?);
    if !step.depends.is_empty() {
        let names: Vec<&str> = step.depends.iter().map(|d| d.value.as_str()).collect();
        let _ = write!(out, " depends {}", names.join(", "));
    }
    if let Some(condition) = &step.condition {
        let text = match &condition.expr {
            Some(expr) => dsl_expr(expr).map_err(|what| fail("condition", what))?,
            None => format!("{{ {} }}", condition.source),
        };
        let _ = write!(out, " if {text}");
    }
    if let Some(retry) = &step.retry {
        let _ = write!(out, " retry {}", retry.count.value);
        let backoff = retry.backoff.as_ref().map(|b| b.value);
        if backoff.is_some() || retry.multiplier.is_some() {
            let ms = backoff.unwrap_or(crate::policy::DEFAULT_BACKOFF.as_secs_f64() * 1000.0);
            let _ = write!(out, " backoff {}", duration_text(ms));
            if let Some(m) = &retry.multiplier {
                let _ = write!(out, " x{}", m.value);
            }
        }
        if let Some(max) = &retry.max {
            let _ = write!(out, " max {}", duration_text(max.value));
        }
        if retry.jitter {
            out.push_str(" jitter");
        }
        if !retry.on.is_empty() {
            let classes: Vec<&str> = retry.on.iter().map(|c| c.value.as_str()).collect();
            let _ = write!(out, " on {}", classes.join(", "));
        }
    }
    if let Some(timeout) = &step.timeout {
        let _ = write!(out, " timeout {}", duration_text(timeout.value));
    }
    if let Some(deadline) = &step.deadline {
        let _ = write!(out, " deadline {}", duration_text(deadline.value));
    }
    match (step.on_error.as_ref().map(|o| o.value), &step.fallback) {
        (Some(OnError::Fallback) | None, Some(fallback)) => {
            let _ = write!(out, " on_error fallback {}", call(&fallback.tool, &fallback.args, "fallback ")?);
        }
        (Some(action), _) => {
            let _ = write!(out, " on_error {}", action.as_str());
        }
        (None, None) => {}
    }
    if let Some(compensate) = &step.compensate {
        let _ = write!(out, " compensate {}", call(&compensate.tool, &compensate.args, "compensation ")?);
    }
    if let Some(f) = &step.for_each {
        let _ = write!(out, " for {} in <<{}>>", f.item.value, f.list.path);
        if let Some(max) = &f.max {
            let _ = write!(out, " max {}", max.value);
        }
        if let Some(tolerate) = &f.tolerate {
            let _ = write!(out, " tolerate {}", tolerate.value);
        }
    }
    if let Some(after) = &step.after {
        let _ = write!(out, " after {} {}", after.step.value, after.when.value.as_str());
    }
    Ok(out)
}

fn value<S>(value: &Value<S>) -> Result<String, String> {
    Ok(match value {
        Value::Ref(r) => format!("<<{}>>", r.path),
        Value::Template(t) => {
            let mut text = String::new();
            for part in &t.template.parts {
                match part {
                    Part::Text(s) => text.push_str(&plain_text(s)?),
                    Part::Expr(Expr::Path(p)) => text.push_str(&format!("<<{p}>>")),
                    Part::Expr(Expr::Literal(Literal::Str(s), _)) => text.push_str(&plain_text(s)?),
                    Part::Expr(e) => return Err(format!("the expression `{{{{{e}}}}}`")),
                }
            }
            quoted(&text)
        }
        Value::Literal(Literal::Str(s)) => quoted(&plain_text(s)?),
        Value::Literal(Literal::Number(n)) => n.clone(),
        Value::Literal(Literal::Bool(b)) => b.to_string(),
        Value::Literal(Literal::Null) => return Err("`null`".to_owned()),
        Value::List(_) => return Err("a list".to_owned()),
        Value::Object(_) => return Err("an object".to_owned()),
        Value::Rust(r) => format!("{{ {} }}", r.source),
    })
}

/// Text for a DSL string: a `<<` followed by a name would be read as a reference.
fn plain_text(text: &str) -> Result<String, String> {
    let reads_as_ref = text
        .match_indices("<<")
        .any(|(i, _)| text[i + 2..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'));
    if reads_as_ref { Err(format!("the text {text:?} (a `<<` before a name)")) } else { Ok(text.to_owned()) }
}

/// A Rust string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A condition as Rust-compatible DSL: `<<path>>` operands, double-quoted strings.
fn dsl_expr(expr: &Expr) -> Result<String, String> {
    let operand = |e: &Expr| -> Result<String, String> {
        let text = dsl_expr(e)?;
        Ok(if matches!(e, Expr::Binary(..)) { format!("({text})") } else { text })
    };
    Ok(match expr {
        Expr::Literal(Literal::Str(s), _) => quoted(s),
        Expr::Literal(Literal::Number(n), _) => n.clone(),
        Expr::Literal(Literal::Bool(b), _) => b.to_string(),
        Expr::Literal(Literal::Null, _) => return Err("`null`".to_owned()),
        Expr::Path(p) => format!("<<{p}>>"),
        Expr::Not(e) => format!("!{}", operand(e)?),
        Expr::Neg(e) => format!("-{}", operand(e)?),
        Expr::Binary(a, op, b) => format!("{} {op} {}", operand(a)?, operand(b)?),
        Expr::Ternary(..) => return Err("a `? :` choice".to_owned()),
        Expr::Filter(_, f) => return Err(format!("a filter (at byte {})", f.span.start)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::workflows;

    #[test]
    fn printing_and_reading_back_gives_the_same_model_text() {
        let src = r#"
            /// Two lines
            /// of doc.
            w(repo: String, n: u64) {
                a = t(x: <<repo>>, y: "Fixes #<<repo>> \"now\"", z: -1.5, b: true);
                b = t(x: { <<a.items>>.len() as u32 }) depends a if <<a.ok>> && !(<<n>> == 0) retry 3 backoff 1s x1.5 max 1m jitter timeout 30s on_error skip;
                c = tools::t(x: 1) if { <<b>>.is_some() } retry 2;
            }
        "#;
        let first = print_one(src);
        assert_eq!(print_one(&first), first);
        assert!(first.contains("b = t(x: { <<a.items>>.len() as u32 }) depends a if <<a.ok>> && !(<<n>> == 0) retry 3 backoff 1s x1.5 max 1m jitter timeout 30s on_error skip;"), "{first}");
        assert!(first.contains("c = tools::t(x: 1) if { <<b>>.is_some() } retry 2;"), "{first}");
    }

    #[test]
    fn what_the_dsl_cannot_say_is_an_error_naming_its_place() {
        let mut wf = workflows("w() { a = t(x: 1); }").unwrap().remove(0);
        wf.steps[0].args[0].value = Value::Literal(Literal::Null);
        let err = workflow(&wf).unwrap_err();
        assert_eq!(err.to_string(), "step `a`, argument `x`: `null` cannot be written in the workflow DSL");
    }

    fn print_one(src: &str) -> String {
        workflow(&workflows(src).unwrap()[0]).unwrap()
    }
}
