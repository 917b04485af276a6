//! [`WorkflowExecutor`]: runs a [`WorkflowTemplate`] against a [`Toolbox`] (such as a
//! [`ToolRegistry`](crate::ToolRegistry)), level by level, each step through the same step driver
//! as compiled workflows.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::context::RunContext;
use super::driver::{StepOutcome, StepSpec, drive_owned};
use super::errors::DeadlineExceeded;
use super::record::{RunRecord, StepRecord};
use super::run::RunRecorder;
use crate::context::WorkflowContext;
use crate::definition::WorkflowTemplate;
use crate::error::{StepError, ToolError, WorkflowError};
use crate::registry::CallError;
use crate::template::eval::kind;
use crate::template::{Limits, Scope, eval, render};
use crate::toolbox::{Toolbox, ToolboxCatalog};
use crate::validate::{Compiled, Plan, Problems, validate};

/// Why a run-time workflow did not run to the end.
///
/// Its `Debug` form (what `main` prints for an error returned with `?`) draws validation
/// problems with the offending text underlined, and lists the steps of a failed run.
#[derive(thiserror::Error)]
pub enum ExecuteError {
    /// The workflow did not pass validation; nothing ran.
    #[error(transparent)]
    Invalid(#[from] Problems),
    /// A step failed and stopped the run.
    #[error(transparent)]
    Failed(#[from] Box<WorkflowError>),
    /// The run did not finish within the deadline of its [`RunContext`]; it was cancelled.
    #[error(transparent)]
    DeadlineExceeded(#[from] Box<DeadlineExceeded>),
}

/// A finished run of a run-time workflow.
#[derive(Debug, Clone)]
pub struct TemplateRun {
    /// Inputs and every step's result.
    pub context: WorkflowContext,
    /// What each step did.
    pub record: RunRecord,
}

/// How a run-time workflow's steps are scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// Level by level: the steps of a level run together, after every step of the level before
    /// (the seed's `parallel_groups`).
    #[default]
    Levels,
    /// Each step starts as soon as the steps it needs have finished: the better schedule when
    /// steps take uneven times.
    Eager,
}

/// Runs run-time workflows.
///
/// ```
/// use workflow::prelude::*;
/// use workflow::{RunContext, WorkflowExecutor, WorkflowTemplate};
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
///
/// // With observers or a deadline: a `RunContext` around the tools.
/// let context = RunContext::new(&tools).with_deadline(std::time::Duration::from_secs(5));
/// let run = WorkflowExecutor::new().execute(&workflow, context, serde_json::json!({ "x": 2 })).await?;
/// assert_eq!(run.context.get_result("second"), Some(&serde_json::json!(6)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct WorkflowExecutor {
    limits: Limits,
    schedule: Schedule,
    max_concurrency: Option<usize>,
}

/// A step ready to start: done already (skipped, or its condition failed), or a call to make.
enum Prepared {
    /// Boxed: the rare case, and a step record is large.
    Done(Box<StepOutcome<Option<Value>>>),
    Call(Map<String, Value>),
}

impl WorkflowExecutor {
    /// An executor with default limits, level by level, with no bound on concurrency.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the bounds on template evaluation.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets how steps are scheduled.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Runs at most `n` tool calls at once (at least one).
    #[must_use]
    pub fn with_max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// Validates `workflow` against the tools (a [`Toolbox`], such as a
    /// [`ToolRegistry`](crate::ToolRegistry), or a [`RunContext`] around one), then runs it with
    /// `inputs` (a JSON object of the workflow's inputs).
    pub async fn execute<'a, T: Toolbox + ?Sized + 'a>(
        &self,
        workflow: &WorkflowTemplate,
        tools: impl Into<RunContext<'a, T>>,
        inputs: Value,
    ) -> Result<TemplateRun, ExecuteError> {
        let context = tools.into();
        let plan = validate(workflow, &ToolboxCatalog(context.state()))?;
        run(self, workflow, &plan, context, inputs).await
    }

    /// Validates `workflow` against the tools once, for runs that need not check it again
    /// ([`PreparedWorkflow::run`]).
    pub fn prepare<T: Toolbox + ?Sized>(
        &self,
        workflow: &WorkflowTemplate,
        tools: &T,
    ) -> Result<PreparedWorkflow, Problems> {
        let plan = validate(workflow, &ToolboxCatalog(tools))?;
        Ok(PreparedWorkflow { executor: self.clone(), workflow: workflow.clone(), plan })
    }
}

/// A validated run-time workflow, ready to run any number of times.
#[derive(Debug, Clone)]
pub struct PreparedWorkflow {
    executor: WorkflowExecutor,
    workflow: WorkflowTemplate,
    plan: Plan,
}

impl PreparedWorkflow {
    /// The workflow.
    pub fn workflow(&self) -> &WorkflowTemplate {
        &self.workflow
    }

    /// What the step driver runs for each step, in written order: its retry policy and timeout,
    /// defaults filled in as for a compiled workflow (`name::SPECS`).
    pub fn specs(&self) -> &[StepSpec] {
        &self.plan.specs
    }

    /// Runs the workflow with `inputs` (a JSON object of its inputs) against `tools` (a
    /// [`Toolbox`] holding the tools it was prepared with, or a [`RunContext`] around one, for
    /// observers and a deadline).
    pub async fn run<'a, T: Toolbox + ?Sized + 'a>(
        &self,
        tools: impl Into<RunContext<'a, T>>,
        inputs: Value,
    ) -> Result<TemplateRun, ExecuteError> {
        run(&self.executor, &self.workflow, &self.plan, tools.into(), inputs).await
    }
}

/// Runs a validated workflow: its plan, and the template it was made from.
async fn run<'a, T: Toolbox + ?Sized + 'a>(
    executor: &WorkflowExecutor,
    workflow: &WorkflowTemplate,
    plan: &Plan,
    context: RunContext<'a, T>,
    inputs: Value,
) -> Result<TemplateRun, ExecuteError> {
    let (toolbox, observers) = (context.state(), context.observers());
    let schedule = context.schedule().unwrap_or(executor.schedule);
    let n = workflow.steps.len();
    crate::validate::check_inputs(plan, &inputs)?;
    let inputs = match inputs {
        Value::Object(map) => map,
        _ => Map::new(), // `check_inputs` rejected anything else
    };
    let mut run = Running {
        executor,
        workflow,
        plan,
        scope: RunScope { inputs, index: &plan.index, results: vec![None; n] },
        recorder: RunRecorder::new(workflow.name.clone(), n).observed_by(observers).expecting(&plan.specs),
    };
    let body = async {
        match schedule {
            Schedule::Levels => run.levels(toolbox).await,
            Schedule::Eager => run.eager(toolbox).await,
        }
    };
    let body = crate::exec::in_run_span(&workflow.name, context.jitter_seed(), body);
    match context.deadline() {
        None => body.await?,
        Some(deadline) => match tokio::time::timeout(deadline, body).await {
            Ok(result) => result?,
            Err(_) => {
                let (workflow, record) = (workflow.name.clone(), run.recorder.cancel());
                return Err(Box::new(DeadlineExceeded { workflow, deadline, record }).into());
            }
        },
    }
    let RunScope { inputs, results, .. } = run.scope;
    let mut context = WorkflowContext { variables: inputs, ..WorkflowContext::default() };
    for (step, result) in workflow.steps.iter().zip(results) {
        if let Some(value) = result {
            context.set_result(step.step_id.clone(), value);
        }
    }
    Ok(TemplateRun { context, record: run.recorder.finish() })
}

/// What a run's templates read: its inputs, then the results of its steps by position.
struct RunScope<'a> {
    inputs: Map<String, Value>,
    index: &'a HashMap<String, usize>,
    results: Vec<Option<Value>>,
}

impl Scope for RunScope<'_> {
    /// A step's name always means the step (its output, or nothing if it has not run): an input
    /// never stands in for a step.
    fn lookup(&self, name: &str) -> Option<&Value> {
        match self.index.get(name) {
            Some(&i) => self.results.get(i)?.as_ref(),
            None => self.inputs.get(name),
        }
    }

    fn names(&self) -> Vec<&str> {
        let ran = self.index.iter().filter(|&(_, &i)| self.results.get(i).is_some_and(Option::is_some));
        self.inputs.keys().map(String::as_str).chain(ran.map(|(name, _)| name.as_str())).collect()
    }
}

/// One run in progress.
struct Running<'a> {
    executor: &'a WorkflowExecutor,
    workflow: &'a WorkflowTemplate,
    plan: &'a Plan,
    scope: RunScope<'a>,
    recorder: RunRecorder<'a>,
}

impl Running<'_> {
    async fn levels<T: Toolbox + ?Sized>(&mut self, registry: &T) -> Result<(), Box<WorkflowError>> {
        use futures::StreamExt as _;
        let specs = &self.plan.specs;
        for level in &self.plan.graph.levels {
            // A level of one step (a chain) needs no joining.
            if let [i] = level[..] {
                let outcome = match self.prepare(i) {
                    Prepared::Done(outcome) => *outcome,
                    Prepared::Call(args) => call(&specs[i], args, registry).await,
                };
                let result = self.recorder.record(outcome);
                self.settle(i, result)?;
                super::tick();
                continue;
            }
            let prepared: Vec<(usize, Prepared)> = level.iter().map(|&i| (i, self.prepare(i))).collect();
            let calls = prepared.into_iter().map(|(i, p)| async move {
                match p {
                    Prepared::Done(outcome) => (i, *outcome),
                    Prepared::Call(args) => (i, call(&specs[i], args, registry).await),
                }
            });
            let outcomes: Vec<(usize, StepOutcome<Option<Value>>)> = match self.executor.max_concurrency {
                Some(n) => futures::stream::iter(calls).buffered(n).collect().await,
                None => futures::future::join_all(calls).await,
            };
            let results: Vec<_> = outcomes.into_iter().map(|(i, o)| (i, self.recorder.record(o))).collect();
            for (i, result) in results {
                self.settle(i, result)?;
            }
            super::tick();
        }
        Ok(())
    }

    async fn eager<T: Toolbox + ?Sized>(&mut self, registry: &T) -> Result<(), Box<WorkflowError>> {
        use futures::StreamExt as _;
        let n = self.workflow.steps.len();
        let mut waiting: Vec<usize> = self.plan.graph.needs.iter().map(Vec::len).collect();
        let users = self.plan.graph.users();
        let mut ready: std::collections::VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let limit = self.executor.max_concurrency.unwrap_or(usize::MAX);
        let specs = &self.plan.specs;
        let mut in_flight = futures::stream::FuturesUnordered::new();
        loop {
            while in_flight.len() < limit {
                let Some(i) = ready.pop_front() else { break };
                match self.prepare(i) {
                    Prepared::Done(outcome) => {
                        let result = self.recorder.record(*outcome);
                        self.settle(i, result)?;
                        release(i, &users, &mut waiting, &mut ready);
                    }
                    Prepared::Call(args) => {
                        let spec = &specs[i];
                        in_flight.push(async move { (i, call(spec, args, registry).await) });
                    }
                }
            }
            let Some((i, outcome)) = in_flight.next().await else {
                if ready.is_empty() {
                    return Ok(());
                }
                continue;
            };
            let result = self.recorder.record(outcome);
            self.settle(i, result)?;
            release(i, &users, &mut waiting, &mut ready);
        }
    }

    /// Decides whether step `i` runs, and renders its arguments.
    fn prepare(&self, i: usize) -> Prepared {
        let spec = &self.plan.specs[i];
        if let Some(n) = self.plan.graph.blocked_by(i, |n| self.scope.results[n].is_some()) {
            let reason = format!("`{}` did not run", self.workflow.steps[n].step_id);
            return Prepared::Done(Box::new(skipped(spec, &reason)));
        }
        let limits = self.executor.limits;
        if let Some(condition) = &self.plan.conditions[i] {
            match eval(condition, &self.scope, limits).map(|v| v.as_bool().ok_or_else(|| kind(&v))) {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return Prepared::Done(Box::new(skipped(spec, "its condition is false"))),
                Ok(Err(found)) => {
                    let reason =
                        format!("a condition must be a boolean, found {found}; compare it, e.g. `… > 0`");
                    return Prepared::Done(Box::new(crate::exec::failed(
                        spec,
                        template_error("condition", &reason),
                    )));
                }
                Err(e) => {
                    let error = template_error("condition", &e.message);
                    return Prepared::Done(Box::new(crate::exec::failed(spec, error)));
                }
            }
        }
        let mut args = Map::new();
        for (name, compiled) in &self.plan.parameters[i] {
            match value(compiled, &self.scope, limits) {
                Ok(v) => {
                    args.insert(name.clone(), v);
                }
                Err(reason) => {
                    return Prepared::Done(Box::new(crate::exec::failed(
                        spec,
                        template_error(name, &reason),
                    )));
                }
            }
        }
        Prepared::Call(args)
    }

    /// Keeps a step's result, or stops the run on a failure that is not `on_error skip`.
    fn settle(
        &mut self,
        i: usize,
        result: Result<Option<Value>, crate::exec::Failed>,
    ) -> Result<(), Box<WorkflowError>> {
        let result = match (result, self.plan.policies[i].on_error) {
            (Err(_), workflow_core::model::OnError::Skip) => return Ok(()),
            (result, _) => self.recorder.check(result)?,
        };
        self.scope.results[i] = result;
        Ok(())
    }
}

/// Marks step `i` finished: the steps waiting only for it become ready.
fn release(
    i: usize,
    users: &[Vec<usize>],
    waiting: &mut [usize],
    ready: &mut std::collections::VecDeque<usize>,
) {
    for &u in &users[i] {
        waiting[u] -= 1;
        if waiting[u] == 0 {
            ready.push_back(u);
        }
    }
}

/// Calls a step's tool through the step driver.
async fn call<T: Toolbox + ?Sized>(
    spec: &StepSpec,
    args: Map<String, Value>,
    registry: &T,
) -> StepOutcome<Option<Value>> {
    let (record, result) = drive_owned(spec, || {
        let args = Value::Object(args.clone());
        async move { registry.call(&spec.tool, args).await.map_err(|e| call_error(&spec.tool, e)) }
    })
    .await;
    (record, crate::exec::some(result))
}

/// A parameter's value, its templates rendered.
fn value(compiled: &Compiled, context: &dyn Scope, limits: Limits) -> Result<Value, String> {
    Ok(match compiled {
        Compiled::Literal(v) => v.clone(),
        Compiled::Template(t) => render(t, context, limits).map_err(|e| e.message)?,
        Compiled::List(items) => {
            Value::Array(items.iter().map(|c| value(c, context, limits)).collect::<Result<_, _>>()?)
        }
        Compiled::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, c)| Ok((k.clone(), value(c, context, limits)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
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
