//! The one conversion between [`WorkflowTemplate`] (the serde form: JSON, YAML) and the shared
//! workflow model of `workflow_core`, both ways. DSL text, compiled workflows
//! (`name::template()`, printed by the macro with the shared printer) and JSON templates all
//! pass through it, so the same source gives the same template and the same checks.

use std::borrow::Cow;

use serde_json::{Map, Value};
use workflow_core::ast::{Expr, Literal, Part, Path, Span, Template};
use workflow_core::graph::Graph;
use workflow_core::model::{
    self, Condition, Field, Input, Name, OnError as CoreOnError, Place, Ref, Retry, RustExpr, Spanned, Step,
    TemplateValue, Workflow,
};
use workflow_core::parse::{DslPart, condition, dsl_string, template};

use crate::definition::{
    AfterStep, ForEach, OnError, ToolCall, Trigger, WorkflowInput, WorkflowStep, WorkflowTemplate,
};
use crate::template::ParseError;

/// Where a part of a run-time workflow is: its step, the field it is in (as the serde form names
/// it: `body`, `condition`, `depends_on`, `retry_count`…) and the bytes of that field's text (or
/// of the whole file, for DSL text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Site {
    /// The step, by index.
    pub step: Option<usize>,
    /// The field, as the serde form names it.
    pub field: Option<Cow<'static, str>>,
    /// The offending bytes.
    pub range: Option<Span>,
}

impl Site {
    /// The site of a span of the file, told where it is by [`Workflow::map_spans`].
    pub fn in_file(span: Span, place: Place<'_>) -> Self {
        Site { step: place.step, field: field_name(place.field), range: Some(span) }
    }
}

/// The serde form's name of a field.
fn field_name(field: Field<'_>) -> Option<Cow<'static, str>> {
    Some(Cow::Borrowed(match field {
        Field::Name | Field::Id => return None,
        Field::ArgName(name) | Field::Arg(name) => return Some(Cow::Owned(name.to_owned())),
        Field::Input => "inputs",
        Field::Tool => "tool_name",
        Field::Depends => "depends_on",
        Field::Condition => "condition",
        Field::RetryCount => "retry_count",
        Field::Backoff => "backoff_seconds",
        Field::Multiplier => "backoff_multiplier",
        Field::MaxDelay => "max_delay_seconds",
        Field::Timeout => "timeout_seconds",
        Field::Deadline => "deadline_seconds",
        Field::OnError => "on_error",
        Field::RetryOn => "retry_on",
        Field::FallbackTool => "fallback.tool_name",
        Field::Fallback(name) => return Some(Cow::Owned(format!("fallback.{name}"))),
        Field::CompensateTool => "compensate.tool_name",
        Field::Compensate(name) => return Some(Cow::Owned(format!("compensate.{name}"))),
        Field::After => "after",
        Field::ForEach => "for_each",
    }))
}

// ---------------------------------------------------------------- model → template

/// The template of a workflow in the model (read from DSL text, printed by `workflow!`, or
/// built by a program such as the pattern miner): references become `{{path}}` parameters,
/// literals their JSON values, and `parallel_groups` the model's levels (left out when the
/// steps have a cycle).
pub fn to_template<S>(workflow: &Workflow<S>) -> WorkflowTemplate {
    WorkflowTemplate {
        name: workflow.name.value.clone(),
        description: workflow.doc.clone(),
        inputs: workflow
            .inputs
            .iter()
            .flatten()
            .map(|i| WorkflowInput { name: i.name.value.clone(), ty: i.ty.clone() })
            .collect(),
        steps: workflow.steps.iter().map(step_template).collect(),
        metadata: Map::new(),
        parallel_groups: Graph::of(workflow).ok().map(|g| {
            g.levels.iter().map(|l| l.iter().map(|&i| workflow.steps[i].id.value.clone()).collect()).collect()
        }),
    }
}

fn step_template<S>(step: &Step<S>) -> WorkflowStep {
    let mut out = WorkflowStep::new(step.id.value.clone(), step.tool.value.clone());
    out.parameters = step.args.iter().map(|a| (a.name.value.clone(), parameter(&a.value))).collect();
    out.depends_on = step.depends.iter().map(|d| d.value.clone()).collect();
    out.condition = step.condition.as_ref().map(|c| match &c.expr {
        Some(expr) => expr.to_string(),
        None => canonical_condition(&c.source),
    });
    if let Some(retry) = &step.retry {
        out.retry_count = u32::try_from(retry.count.value).unwrap_or(u32::MAX);
        out.backoff_seconds = retry.backoff.as_ref().map(|b| b.value / 1000.0);
        out.backoff_multiplier = retry.multiplier.as_ref().map(|m| m.value);
        out.max_delay_seconds = retry.max.as_ref().map(|m| m.value / 1000.0);
        out.jitter = retry.jitter;
        out.retry_on = retry.on.iter().map(|c| c.value.clone()).collect();
    }
    out.timeout_seconds = step.timeout.as_ref().map(|t| t.value / 1000.0);
    out.deadline_seconds = step.deadline.as_ref().map(|d| d.value / 1000.0);
    out.on_error = match step.on_error.as_ref().map(|o| o.value) {
        Some(CoreOnError::Skip) => OnError::Skip,
        Some(CoreOnError::Fallback) => OnError::Fallback,
        _ => OnError::Abort,
    };
    out.fallback = step.fallback.as_ref().map(call_template);
    out.compensate = step.compensate.as_ref().map(call_template);
    out.for_each = step.for_each.as_ref().map(|f| ForEach {
        item: f.item.value.clone(),
        list: reference(&f.list.path),
        max: f.max.as_ref().map(|m| m.value),
        tolerate: f.tolerate.as_ref().map(|t| t.value),
    });
    out.after = step.after.as_ref().map(|a| AfterStep {
        step: a.step.value.clone(),
        when: match a.when.value {
            model::Trigger::Failed => Trigger::Failed,
            model::Trigger::Always => Trigger::Always,
        },
    });
    out
}

fn call_template<S>(call: &model::Call<S>) -> ToolCall {
    ToolCall {
        tool_name: call.tool.value.clone(),
        parameters: call.args.iter().map(|a| (a.name.value.clone(), parameter(&a.value))).collect(),
    }
}

/// An argument as JSON: references become `{{path}}` templates.
fn parameter<S>(value: &model::Value<S>) -> Value {
    match value {
        model::Value::Ref(r) => reference(&r.path).into(),
        model::Value::Template(t) => {
            let mut text = String::new();
            // Text with one reference and nothing else is still text, as a string literal is in
            // `workflow!`: an empty literal first keeps the template from being a lone `{{…}}`.
            if matches!(t.template.parts.as_slice(), [Part::Expr(_)]) {
                text.push_str("{{''}}");
            }
            for part in &t.template.parts {
                match part {
                    Part::Text(s) => text.push_str(&escape_text(s)),
                    Part::Expr(Expr::Path(p)) => text.push_str(&reference(p)),
                    Part::Expr(e) => text.push_str(&format!("{{{{{e}}}}}")),
                }
            }
            text.into()
        }
        model::Value::Literal(l) => literal(l, true),
        model::Value::List(items) => Value::Array(items.iter().map(parameter).collect()),
        model::Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), parameter(v))).collect())
        }
        model::Value::Rust(r) => {
            let mut map = Map::new();
            map.insert(RUST_KEY.to_owned(), r.source.clone().into());
            Value::Object(map)
        }
    }
}

/// The key of a parameter that holds a Rust expression's source: `{"$rust": "<<a>>.len()"}`.
pub const RUST_KEY: &str = "$rust";

/// A literal as JSON; in a parameter (`escaped`), a string's `{{` is written so it stays text.
pub(crate) fn literal(literal: &Literal, escaped: bool) -> Value {
    match literal {
        Literal::Str(s) if escaped => escape_text(s).into(),
        Literal::Str(s) => s.clone().into(),
        Literal::Number(n) => number(n),
        Literal::Bool(b) => (*b).into(),
        Literal::Null => Value::Null,
    }
}

/// `{{path}}`.
fn reference(path: &Path) -> String {
    format!("{{{{{path}}}}}")
}

/// Literal text for a template: a `{{` in it is written `{{'{{'}}` so it stays text.
fn escape_text(text: &str) -> String {
    text.replace("{{", "{{'{{'}}")
}

/// A number literal as JSON (a string if it is not a JSON number).
fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return i.into();
    }
    if let Ok(u) = text.parse::<u64>() {
        return u.into();
    }
    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(|| text.into(), Value::Number)
}

/// A condition written with `<<references>>` (or `{{…}}`), in canonical form; text that is not
/// in the expression language (a Rust expression) is kept as written.
fn canonical_condition(text: &str) -> String {
    condition(text).map_or_else(|_| text.to_owned(), |c| c.to_string())
}

/// The template of a compiled workflow (`name::template()`): the DSL text `workflow!` printed
/// with the shared printer, read back as `WorkflowTemplate::from_dsl` reads text, each step's
/// tool named as the tool calls itself.
///
/// `tools` holds, for each step, the names of its tool, its fallback's tool and its
/// compensation's tool.
pub fn compiled_template(text: &str, tools: &[(&str, Option<&str>, Option<&str>)]) -> WorkflowTemplate {
    let mut template = match workflow_core::dsl::workflows(text) {
        Ok(mut workflows) if workflows.len() == 1 => to_template(&workflows.remove(0)),
        // The macro printed text the same grammar reads; anything else is a bug in the printer,
        // reported in the template rather than by a panic.
        _ => WorkflowTemplate {
            name: "invalid".to_owned(),
            description: format!("the printed workflow did not read back:\n{text}"),
            inputs: Vec::new(),
            steps: Vec::new(),
            metadata: Map::new(),
            parallel_groups: None,
        },
    };
    for (step, &(tool, fallback, compensate)) in template.steps.iter_mut().zip(tools) {
        step.tool_name = tool.to_owned();
        if let (Some(call), Some(name)) = (&mut step.fallback, fallback) {
            call.tool_name = name.to_owned();
        }
        if let (Some(call), Some(name)) = (&mut step.compensate, compensate) {
            call.tool_name = name.to_owned();
        }
    }
    template
}

// ---------------------------------------------------------------- template → model

/// A template's text that did not parse, with the field it is in.
pub(crate) struct BadText {
    pub site: Site,
    pub text: String,
    pub error: ParseError,
}

/// The model of a run-time workflow, with sites in its fields' texts; templates that do not
/// parse are reported and left out.
pub(crate) fn model(t: &WorkflowTemplate, bad: &mut Vec<BadText>) -> Workflow<Site> {
    let whole = Site::default;
    let inputs = (!t.inputs.is_empty()).then(|| {
        t.inputs
            .iter()
            .map(|i| Input {
                name: Name::new(i.name.clone(), Site { field: Some(Cow::Borrowed("inputs")), ..whole() }),
                ty: i.ty.clone(),
            })
            .collect()
    });
    let steps = t.steps.iter().enumerate().map(|(i, s)| step_model(i, s, bad)).collect();
    Workflow { name: Name::new(t.name.clone(), whole()), doc: t.description.clone(), inputs, steps }
}

fn step_model(index: usize, step: &WorkflowStep, bad: &mut Vec<BadText>) -> Step<Site> {
    let at = |field: &'static str, range: Option<Span>| Site {
        step: Some(index),
        field: Some(Cow::Borrowed(field)),
        range,
    };
    let seconds = |field: &'static str, v: Option<f64>| v.map(|s| Spanned::new(s * 1000.0, at(field, None)));
    let args = call_args(index, None, &step.parameters, bad);
    let call = |prefix: &'static str, call: &Option<ToolCall>, bad: &mut Vec<BadText>| {
        call.as_ref().map(|c| model::Call {
            tool: Name::new(
                c.tool_name.clone(),
                at(if prefix == "fallback" { "fallback.tool_name" } else { "compensate.tool_name" }, None),
            ),
            args: call_args(index, Some(prefix), &c.parameters, bad),
        })
    };
    let fallback = call("fallback", &step.fallback, bad);
    let compensate = call("compensate", &step.compensate, bad);
    let condition = step.condition.as_ref().and_then(|text| match condition(text) {
        Ok(expr) => {
            let refs = expr
                .paths()
                .into_iter()
                .map(|p| Ref { path: p.clone(), span: at("condition", Some(p.span)) })
                .collect();
            let span = at("condition", Some(Span { start: 0, end: text.len() }));
            Some(Condition { expr: Some(expr), source: text.clone(), refs, span })
        }
        Err(error) => {
            bad.push(BadText { site: at("condition", None), text: text.clone(), error });
            None
        }
    });
    let has_retry = step.retry_count > 0
        || step.backoff_seconds.is_some()
        || step.backoff_multiplier.is_some()
        || step.max_delay_seconds.is_some()
        || step.jitter
        || !step.retry_on.is_empty();
    Step {
        id: Name::new(step.step_id.clone(), Site { step: Some(index), ..Site::default() }),
        tool: Name::new(step.tool_name.clone(), at("tool_name", None)),
        args,
        depends: step.depends_on.iter().map(|d| Name::new(d.clone(), at("depends_on", None))).collect(),
        condition,
        retry: has_retry.then(|| Retry {
            count: Spanned::new(u64::from(step.retry_count), at("retry_count", None)),
            backoff: seconds("backoff_seconds", step.backoff_seconds),
            multiplier: step.backoff_multiplier.map(|m| Spanned::new(m, at("backoff_multiplier", None))),
            max: seconds("max_delay_seconds", step.max_delay_seconds),
            jitter: step.jitter,
            on: step.retry_on.iter().map(|c| Name::new(c.clone(), at("retry_on", None))).collect(),
        }),
        timeout: seconds("timeout_seconds", step.timeout_seconds),
        deadline: seconds("deadline_seconds", step.deadline_seconds),
        on_error: match step.on_error {
            OnError::Abort => None,
            OnError::Skip => Some(Spanned::new(CoreOnError::Skip, at("on_error", None))),
            OnError::Fallback => Some(Spanned::new(CoreOnError::Fallback, at("on_error", None))),
        },
        fallback,
        compensate,
        for_each: step.for_each.as_ref().and_then(|f| {
            let at = |range| at("for_each", range);
            let list = match value_model(&Value::String(f.list.clone()), &at) {
                Ok(model::Value::Ref(r)) => r,
                Ok(_) => {
                    let message = "`for_each.in` must be one reference to a list, such as `{{step.items}}`";
                    let error = ParseError { message: message.to_owned(), offset: 0, line: 1, column: 1 };
                    bad.push(BadText { site: at(None), text: f.list.clone(), error });
                    return None;
                }
                Err((text, error)) => {
                    bad.push(BadText { site: at(None), text, error });
                    return None;
                }
            };
            Some(model::ForEach {
                item: Name::new(f.item.clone(), at(None)),
                list,
                max: f.max.map(|m| Spanned::new(m, at(None))),
                tolerate: f.tolerate.map(|t| Spanned::new(t, at(None))),
            })
        }),
        after: step.after.as_ref().map(|a| model::After {
            step: Name::new(a.step.clone(), at("after", None)),
            when: Spanned::new(
                match a.when {
                    Trigger::Failed => model::Trigger::Failed,
                    Trigger::Always => model::Trigger::Always,
                },
                at("after", None),
            ),
        }),
    }
}

/// The arguments of a step's call (`prefix` `None`), its fallback's or its compensation's, with
/// their sites; a template that does not parse is reported and given as an empty text.
fn call_args(
    index: usize,
    prefix: Option<&str>,
    parameters: &Map<String, Value>,
    bad: &mut Vec<BadText>,
) -> Vec<model::Arg<Site>> {
    let mut args = Vec::new();
    for (name, value) in parameters {
        let field: Cow<'static, str> = match prefix {
            None => Cow::Owned(name.clone()),
            Some(prefix) => Cow::Owned(format!("{prefix}.{name}")),
        };
        let at = |range| Site { step: Some(index), field: Some(field.clone()), range };
        match value_model(value, &at) {
            Ok(v) => args.push(model::Arg { name: Name::new(name.clone(), at(None)), value: v }),
            Err((text, error)) => {
                bad.push(BadText { site: at(None), text, error });
                // Still given, so the tool's checks do not also call it missing.
                let opaque = model::Value::Template(TemplateValue {
                    template: Template { parts: Vec::new() },
                    refs: Vec::new(),
                });
                args.push(model::Arg { name: Name::new(name.clone(), at(None)), value: opaque });
            }
        }
    }
    args
}

/// A parameter's JSON as a model value: strings with `{{` are templates (one lone `{{path}}` is
/// a reference), `{"$rust": …}` is a Rust expression, lists and objects hold values.
fn value_model(
    value: &Value,
    at: &dyn Fn(Option<Span>) -> Site,
) -> Result<model::Value<Site>, (String, ParseError)> {
    let refs = |paths: Vec<&Path>| {
        paths.into_iter().map(|p| Ref { path: p.clone(), span: at(Some(p.span)) }).collect()
    };
    Ok(match value {
        Value::String(s) if s.contains("{{") => {
            let parsed: Template = template(s).map_err(|e| (s.clone(), e))?;
            match parsed.single() {
                Some(Expr::Path(p)) => model::Value::Ref(Ref { path: p.clone(), span: at(Some(p.span)) }),
                _ => model::Value::Template(TemplateValue { refs: refs(parsed.paths()), template: parsed }),
            }
        }
        Value::String(s) => model::Value::Literal(Literal::Str(s.clone())),
        Value::Number(n) => model::Value::Literal(Literal::Number(n.to_string())),
        Value::Bool(b) => model::Value::Literal(Literal::Bool(*b)),
        Value::Null => model::Value::Literal(Literal::Null),
        Value::Array(items) => {
            model::Value::List(items.iter().map(|v| value_model(v, at)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => match (map.len(), map.get(RUST_KEY)) {
            (1, Some(Value::String(source))) => {
                let parts = dsl_string(source).map_err(|e| (source.clone(), e))?;
                let paths: Vec<&Path> = parts
                    .iter()
                    .filter_map(|p| match p {
                        DslPart::Ref(path) => Some(path),
                        DslPart::Text(_) => None,
                    })
                    .collect();
                model::Value::Rust(RustExpr { source: source.clone(), refs: refs(paths), span: at(None) })
            }
            _ => model::Value::Object(
                map.iter().map(|(k, v)| Ok((k.clone(), value_model(v, at)?))).collect::<Result<_, _>>()?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_and_its_model_convert_into_each_other() {
        let src = "/// Doc.\nw(repo: String) {\n    a = t(x: <<repo>>, y: \"#<<repo>> {{x}}\", z: 1.5, n: -3, b: false, r: { <<repo>>.len() });\n    b = t(x: \"<<a>>\") depends a if <<a.ok>> == true retry 3 backoff 500ms x1.5 max 1m jitter timeout 2s on_error skip;\n}\n";
        let wf = workflow_core::dsl::workflows(src).unwrap().remove(0);
        let template = to_template(&wf);
        assert_eq!(template.steps[0].parameters["y"], "#{{repo}} {{'{{'}}x}}");
        assert_eq!(template.steps[0].parameters["r"], serde_json::json!({ "$rust": "<<repo>>.len()" }));
        assert_eq!(template.steps[1].parameters["x"], "{{''}}{{a}}");
        let mut bad = Vec::new();
        let back = model(&template, &mut bad);
        assert!(bad.is_empty());
        let again = to_template(&back);
        assert_eq!(again, template);
        assert_eq!(workflow_core::print::workflow(&back).map(|_| ()), Ok(()));
    }
}
