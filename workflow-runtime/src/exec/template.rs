//! [`WorkflowExecutor`]: runs a [`WorkflowTemplate`] against a [`ToolRegistry`], level by level,
//! each step through the same step driver as compiled workflows.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::{Map, Value};

use super::driver::{RetryPolicy, StepOutcome, StepSpec, drive};
use super::record::{RunRecord, StepRecord};
use super::run::RunRecorder;
use crate::context::WorkflowContext;
use crate::definition::{OnError, WorkflowTemplate};
use crate::error::{StepError, ToolError, WorkflowError};
use crate::registry::{CallError, ToolRegistry};
use crate::template::{Limits, eval, render, truthy};
use crate::validate::{Compiled, Plan, Problems, validate};

/// Why a run-time workflow did not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The workflow did not pass validation; nothing ran.
    #[error(transparent)]
    Invalid(#[from] Problems),
    /// A step failed and stopped the run.
    #[error(transparent)]
    Failed(#[from] Box<WorkflowError>),
}

/// A finished run of a run-time workflow.
#[derive(Debug, Clone)]
pub struct TemplateRun {
    /// Inputs and every step's result.
    pub context: WorkflowContext,
    /// What each step did.
    pub record: RunRecord,
}

/// Runs run-time workflows.
///
/// ```
/// use workflow::prelude::*;
/// use workflow::{WorkflowExecutor, WorkflowTemplate};
///
/// /// Add two numbers.
/// #[tool]
/// async fn add(a: i64, b: i64) -> Result<i64, ToolError> { Ok(a + b) }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mut tools = ToolRegistry::new(());
/// tools.register::<add>()?;
/// let workflow = WorkflowTemplate::from_yaml(r#"
/// name: sums
/// steps:
///   - { step_id: first, tool_name: add, parameters: { a: "{{x}}", b: 1 } }
///   - { step_id: second, tool_name: add, parameters: { a: "{{first}}", b: "{{first}}" } }
/// "#)?;
/// let run = WorkflowExecutor::new().execute(&workflow, &tools, serde_json::json!({ "x": 2 })).await?;
/// assert_eq!(run.context.get_result("second"), Some(&serde_json::json!(6)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct WorkflowExecutor {
    limits: Limits,
}

impl WorkflowExecutor {
    /// An executor with default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the bounds on template evaluation.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Validates `workflow` against the registry's tools, then runs it with `inputs` (a JSON
    /// object of the workflow's inputs).
    pub async fn execute<S: Send + Sync + 'static>(
        &self,
        workflow: &WorkflowTemplate,
        registry: &ToolRegistry<S>,
        inputs: Value,
    ) -> Result<TemplateRun, ExecuteError> {
        let plan = validate(workflow, registry)?;
        let specs: Vec<StepSpec> = workflow.steps.iter().map(spec).collect();
        let mut context = WorkflowContext::with_inputs(inputs);
        let mut recorder = RunRecorder::new(workflow.name.clone(), workflow.steps.len());
        let mut ran = vec![false; workflow.steps.len()];
        let run = async {
            for level in &plan.levels {
                let calls = level.iter().map(|&i| self.step(i, &plan, &specs[i], &context, &ran, registry));
                let outcomes = futures::future::join_all(calls).await;
                let mut results = Vec::with_capacity(level.len());
                for (&i, outcome) in level.iter().zip(outcomes) {
                    results.push((i, recorder.record(outcome)));
                }
                for (i, result) in results {
                    let result = match (result, workflow.steps[i].on_error) {
                        (Err(failed), OnError::Skip) => {
                            drop(failed);
                            continue;
                        }
                        (result, _) => recorder.check(result)?,
                    };
                    if let Some(value) = result {
                        ran[i] = true;
                        context.set_result(workflow.steps[i].step_id.clone(), value);
                    }
                }
            }
            Ok::<(), Box<WorkflowError>>(())
        };
        crate::exec::in_run_span_owned(&workflow.name, run).await?;
        Ok(TemplateRun { context, record: recorder.finish() })
    }

    /// Runs step `i`: skipped when a step it needs did not run or its condition is false.
    async fn step<S: Send + Sync + 'static>(
        &self,
        i: usize,
        plan: &Plan,
        spec: &StepSpec,
        context: &WorkflowContext,
        ran: &[bool],
        registry: &ToolRegistry<S>,
    ) -> StepOutcome<Option<Value>> {
        if let Some(&missing) = plan.needs[i].iter().find(|&&n| !ran[n]) {
            let _ = missing;
            return skipped(spec, "a step it needs did not run");
        }
        if let Some(condition) = &plan.conditions[i] {
            match eval(condition, context, self.limits) {
                Ok(v) if truthy(&v) => {}
                Ok(_) => return skipped(spec, "its condition is false"),
                Err(e) => return crate::exec::failed(spec, template_error("condition", &e.message)),
            }
        }
        let outcome = drive(spec, || async {
            let mut args = Map::new();
            for (name, compiled) in &plan.parameters[i] {
                let value = self.value(compiled, context).map_err(|reason| template_error(name, &reason))?;
                args.insert(name.clone(), value);
            }
            registry.call(&spec.tool, Value::Object(args)).await.map_err(|e| call_error(&spec.tool, e))
        })
        .await;
        crate::exec::some(outcome)
    }

    fn value(&self, compiled: &Compiled, context: &WorkflowContext) -> Result<Value, String> {
        Ok(match compiled {
            Compiled::Literal(v) => v.clone(),
            Compiled::Template(t) => render(t, context, self.limits).map_err(|e| e.message)?,
            Compiled::List(items) => {
                Value::Array(items.iter().map(|c| self.value(c, context)).collect::<Result<_, _>>()?)
            }
            Compiled::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, c)| Ok((k.clone(), self.value(c, context)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

fn skipped(spec: &StepSpec, reason: &str) -> StepOutcome<Option<Value>> {
    (StepRecord::skipped(spec.id.clone(), spec.tool.clone(), reason), Ok(None))
}

fn template_error(parameter: &str, reason: &str) -> StepError {
    StepError::Template { parameter: parameter.to_owned(), reason: reason.to_owned() }
}

fn call_error(tool: &str, err: CallError) -> StepError {
    let tool = Cow::Owned(tool.to_owned());
    match err {
        CallError::Tool { source, .. } => StepError::Tool { tool, source },
        CallError::Panicked { message, .. } => StepError::Panicked { tool, message },
        CallError::InvalidArguments { reason, .. } => StepError::Arguments { tool, reason },
        other @ (CallError::UnknownTool { .. } | CallError::InvalidOutput { .. }) => {
            StepError::Tool { tool, source: ToolError::permanent(other.to_string()) }
        }
    }
}

fn spec(step: &crate::definition::WorkflowStep) -> StepSpec {
    let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
    StepSpec {
        id: Cow::Owned(step.step_id.clone()),
        tool: Cow::Owned(step.tool_name.clone()),
        retry: RetryPolicy {
            retries: step.retry_count,
            backoff: step.backoff_seconds.map_or(Duration::from_secs(2), seconds),
            multiplier: step.backoff_multiplier.unwrap_or(2.0),
            max_delay: step.max_delay_seconds.map(seconds),
            jitter: step.jitter,
        },
        timeout: step.timeout_seconds.map(seconds),
    }
}
