//! The workflow DSL as text, turned into [`WorkflowTemplate`]s. The same conversion rules are
//! used by `workflow!` for the templates of compiled workflows (`name::template()`), so both
//! give the same template for the same source.

use serde_json::{Map, Value};
use workflow_core::ast::Path;
use workflow_core::dsl::{DslStep, DslValue, DslWorkflow};
use workflow_core::parse::{DslPart, condition};

use crate::definition::{OnError, WorkflowInput, WorkflowStep, WorkflowTemplate};

pub(crate) fn to_template(def: DslWorkflow) -> WorkflowTemplate {
    let mut template = WorkflowTemplate {
        name: def.name,
        description: def.doc,
        inputs: def.inputs.into_iter().map(|(name, ty)| WorkflowInput { name, ty: Some(ty) }).collect(),
        steps: def.steps.into_iter().map(step).collect(),
        metadata: Map::new(),
        parallel_groups: None,
    };
    template.parallel_groups = template.levels().ok();
    template
}

fn step(def: DslStep) -> WorkflowStep {
    let mut step = WorkflowStep::new(def.id, def.tool);
    step.parameters = def.args.into_iter().map(|(name, value)| (name, parameter(value))).collect();
    step.depends_on = def.depends;
    step.condition = def.condition.map(|c| c.to_string());
    if let Some(retry) = def.retry {
        step.retry_count = retry.count;
        step.backoff_seconds = retry.backoff_ms.map(seconds);
        step.backoff_multiplier = retry.multiplier;
        step.max_delay_seconds = retry.max_ms.map(seconds);
        step.jitter = retry.jitter;
    }
    step.timeout_seconds = def.timeout_ms.map(seconds);
    step.on_error = if def.on_error_skip == Some(true) { OnError::Skip } else { OnError::Abort };
    step
}

/// Milliseconds as seconds.
pub fn seconds(ms: f64) -> f64 {
    ms / 1000.0
}

fn parameter(value: DslValue) -> Value {
    match value {
        DslValue::Ref(path) => reference(&path).into(),
        DslValue::Str(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    DslPart::Text(t) => text.push_str(&escape_text(&t)),
                    DslPart::Ref(path) => text.push_str(&reference(&path)),
                }
            }
            text.into()
        }
        DslValue::Number(n) => number(&n),
        DslValue::Bool(b) => b.into(),
    }
}

/// `{{path}}`.
pub fn reference(path: &Path) -> String {
    format!("{{{{{path}}}}}")
}

/// Literal text for a template: a `{{` in it is written `{{'{{'}}` so it stays text.
pub fn escape_text(text: &str) -> String {
    text.replace("{{", "{{'{{'}}")
}

/// A number literal as JSON (a string if it is not a JSON number).
pub fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return i.into();
    }
    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(|| text.into(), Value::Number)
}

/// A condition written with `<<references>>` (or `{{…}}`), in canonical form; text that is not
/// in the expression language is kept as written.
pub fn canonical_condition(text: &str) -> String {
    condition(text).map_or_else(|_| text.to_owned(), |c| c.to_string())
}

/// The template of a compiled workflow (`name::template()`), from what `workflow!` saw.
pub fn compiled_template(
    name: &str,
    description: &str,
    inputs: &[(&str, &str)],
    steps: Vec<WorkflowStep>,
    levels: &[&[&str]],
) -> WorkflowTemplate {
    WorkflowTemplate {
        name: name.to_owned(),
        description: description.to_owned(),
        inputs: inputs
            .iter()
            .map(|(n, t)| WorkflowInput { name: (*n).to_owned(), ty: Some((*t).to_owned()) })
            .collect(),
        steps,
        metadata: Map::new(),
        parallel_groups: Some(levels.iter().map(|l| l.iter().map(|s| (*s).to_owned()).collect()).collect()),
    }
}

/// A `retry` clause as `workflow!` saw it: count, backoff (ms), factor, max (ms), jitter.
pub type CompiledRetry = (u32, Option<f64>, Option<f64>, Option<f64>, bool);

/// A step of a compiled workflow's template.
#[allow(clippy::too_many_arguments)]
pub fn compiled_step(
    id: &str,
    tool: &str,
    parameters: Vec<(&str, Value)>,
    depends: &[&str],
    condition: Option<&str>,
    retry: Option<CompiledRetry>,
    timeout_ms: Option<f64>,
    skip: bool,
) -> WorkflowStep {
    let mut step = WorkflowStep::new(id, tool);
    step.parameters = parameters.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    step.depends_on = depends.iter().map(|d| (*d).to_owned()).collect();
    step.condition = condition.map(canonical_condition);
    if let Some((count, backoff, multiplier, max, jitter)) = retry {
        step.retry_count = count;
        step.backoff_seconds = backoff.map(seconds);
        step.backoff_multiplier = multiplier;
        step.max_delay_seconds = max.map(seconds);
        step.jitter = jitter;
    }
    step.timeout_seconds = timeout_ms.map(seconds);
    step.on_error = if skip { OnError::Skip } else { OnError::Abort };
    step
}

/// A string parameter.
pub fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// A parameter that is a Rust expression: kept as its source, not runnable outside Rust.
pub fn rust_expression(source: &str) -> Value {
    let mut map = Map::new();
    map.insert("$rust".to_owned(), source.into());
    Value::Object(map)
}
