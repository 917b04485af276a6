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
use super::skipped;
use crate::context::WorkflowContext;
use crate::definition::WorkflowTemplate;
use crate::error::{StepError, ToolError, WorkflowError};
use crate::registry::CallError;
use crate::template::eval::kind;
use crate::template::{Limits, Scope, eval, render};
use crate::toolbox::{Toolbox, ToolboxCatalog};
use crate::validate::{Compiled, FanOut, Plan, Problems, validate};
use workflow_core::graph::{Admit, Ended};

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
    /// [`WorkflowExecutor::resume`] could not take the run from its journal.
    #[error(transparent)]
    Journal(#[from] Box<crate::journal::JournalError>),
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

/// A fallback's arguments, or why they did not render.
type FallbackArgs = Result<Map<String, Value>, StepError>;

/// A step ready to start: done already (skipped, or its condition failed), or a call to make.
enum Prepared {
    /// Boxed: the rare case, and a step record is large.
    Done(Box<StepOutcome<Option<Value>>>),
    /// The call's arguments, and its fallback's (or why they did not render).
    Call(Map<String, Value>, Option<FallbackArgs>),
    /// A `for item in …` step's arguments, one set per item.
    Calls(Vec<Map<String, Value>>),
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

    /// Resumes the journaled run of the context (`RunContext::new(&tools).with_journal(journal,
    /// run)`) from its journal alone: the definition and the inputs it started with are read
    /// back, and the run goes on as [`execute`](Self::execute) with them would, its finished
    /// steps not called again. A run the journal does not hold, or whose inputs held secrets
    /// (which the journal never keeps), is refused: resume the latter with `execute` and its
    /// inputs.
    pub async fn resume<'a, T: Toolbox + ?Sized + 'a>(
        &self,
        tools: impl Into<RunContext<'a, T>>,
    ) -> Result<TemplateRun, ExecuteError> {
        use crate::journal::JournalError;
        let context = tools.into();
        let Some((journal, run)) = context.journal_slot().map(|s| s.parts()) else {
            let error = JournalError::Store(
                "`resume` needs a run: give the context `with_journal(journal, run)`".into(),
            );
            return Err(Box::new(error).into());
        };
        let replay = journal.load(&run).await.map_err(Box::new)?;
        let Some(replay) = replay else {
            return Err(Box::new(JournalError::Store(format!("the journal holds no run `{run}`"))).into());
        };
        let workflow: WorkflowTemplate = serde_json::from_value(replay.definition.clone()).map_err(|e| {
            Box::new(JournalError::Store(format!(
                "run `{run}`: its recorded definition does not read back: {e}"
            )))
        })?;
        let redacted =
            replay.inputs.as_object().into_iter().flatten().any(|(_, v)| v == crate::secret::REDACTED);
        if redacted {
            let error = JournalError::Store(format!(
                "run `{run}` was started with secret inputs, which the journal does not keep: resume it with `execute` and its inputs"
            ));
            return Err(Box::new(error).into());
        }
        self.execute(&workflow, context, replay.inputs).await
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
    let (toolbox, observers, tokenizer) = (context.state(), context.observers(), context.tokenizer());
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
        scope: RunScope {
            inputs,
            index: &plan.index,
            results: vec![None; n],
            ended: vec![None; n],
            timed_out: vec![false; n],
        },
        recorder: RunRecorder::new(workflow.name.clone(), n).observed_by(observers).expecting(&plan.specs),
    };
    let (eager, stop) = (schedule == Schedule::Eager, context.stop_signal());
    let secret_inputs: Vec<&str> = workflow
        .inputs
        .iter()
        .filter(|i| i.ty.as_deref().is_some_and(is_secret_type))
        .map(|i| i.name.as_str())
        .collect();
    for name in &secret_inputs {
        if let Some(Value::String(secret)) = run.scope.inputs.get(*name) {
            crate::secret::register(secret);
        }
    }
    // What the journal records of the inputs, for a journaled run only.
    let recorded_inputs = context
        .run_id()
        .map(|_| Value::Object(crate::exec::journaled::redacted(&run.scope.inputs, &secret_inputs)));
    let body = async {
        let definition = || crate::exec::journaled::Definition::of(workflow);
        let inputs = recorded_inputs.unwrap_or_default();
        if let Err(error) = crate::exec::journaled::open(&workflow.name, definition, inputs).await {
            return Err(run.recorder.refuse(error));
        }
        run.schedule(toolbox, eager, stop).await?;
        if let Some(tokenizer) = tokenizer {
            run.recorder.set_tokens(token_usage(plan, &run.scope.results, tokenizer));
        }
        // Inside the run's span: the journal is told of the run's end.
        Ok(run.recorder.end())
    };
    let journal = context.journal_slot();
    let body =
        crate::exec::in_run_span(&workflow.name, context.jitter_seed(), context.call_limit(), journal, body);
    let record = match body.await {
        Ok(record) => record,
        Err(error) => {
            return Err(match (error.step.is_empty(), &error.error) {
                // The run's deadline, rather than a step's failure, stopped it.
                (true, &StepError::RunDeadlineExceeded(deadline)) => {
                    let workflow = workflow.name.clone();
                    Box::new(DeadlineExceeded { workflow, deadline, record: error.record }).into()
                }
                _ => error.into(),
            });
        }
    };
    let RunScope { inputs, results, .. } = run.scope;
    let mut context = WorkflowContext { variables: inputs, ..WorkflowContext::default() };
    for (step, result) in workflow.steps.iter().zip(results) {
        if let Some(value) = result {
            context.set_result(step.step_id.clone(), value);
        }
    }
    Ok(TemplateRun { context, record })
}

/// The tokens of a run's outputs: a step that another step needs is kept in the workflow, one
/// that none needs is what the run returns.
fn token_usage(
    plan: &Plan,
    results: &[Option<Value>],
    tokenizer: &dyn crate::tokens::Tokenizer,
) -> crate::tokens::TokenUsage {
    let returned = plan.graph.returned();
    let outputs =
        results.iter().zip(returned).filter_map(|(result, returned)| Some((result.as_ref()?, returned)));
    crate::tokens::TokenUsage::count(tokenizer, outputs)
}

/// What a run's templates read: its inputs, then the results of its steps by position.
struct RunScope<'a> {
    inputs: Map<String, Value>,
    index: &'a HashMap<String, usize>,
    results: Vec<Option<Value>>,
    /// How each step ended, once it has.
    ended: Vec<Option<Ended>>,
    /// Whether each step failed because a time limit cut it.
    timed_out: Vec<bool>,
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

    fn status(&self, name: &str) -> Option<workflow_core::graph::Status> {
        let i = *self.index.get(name)?;
        let ended = self.ended.get(i).copied().flatten()?;
        Some(workflow_core::graph::Status {
            ended,
            timed_out: self.timed_out.get(i).copied().unwrap_or(false),
        })
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
    /// Runs every step: level by level, or each as soon as the steps it needs have ended
    /// (`eager`). A failure with `on_error abort` stops the run: the calls in flight are
    /// cancelled, no step starts but those with `after X …`, and once they have run the
    /// compensations of the steps that succeeded run, latest first.
    async fn schedule<T: Toolbox + ?Sized>(
        &mut self,
        registry: &T,
        eager: bool,
        mut stop: super::StopSignal,
    ) -> Result<(), Box<WorkflowError>> {
        use futures::StreamExt as _;
        let plan = self.plan;
        let n = plan.specs.len();
        let users = plan.graph.users();
        let mut waiting: Vec<usize> = plan.graph.needs.iter().map(Vec::len).collect();
        let mut ready: std::collections::VecDeque<usize> = if eager {
            (0..n).filter(|&i| waiting[i] == 0).collect()
        } else {
            plan.graph.levels.first().into_iter().flatten().copied().collect()
        };
        let mut level = 0;
        let limit = self.executor.max_concurrency.unwrap_or(usize::MAX);
        let mut in_flight = futures::stream::FuturesUnordered::new();
        // When each call in flight started, for the record of a call the run cancels.
        let mut started: Vec<Option<tokio::time::Instant>> = vec![None; n];
        loop {
            while in_flight.len() < limit {
                let Some(i) = ready.pop_front() else { break };
                match self.prepare(i) {
                    Prepared::Done(outcome) => {
                        self.end(i, *outcome);
                        release(i, &users, &mut waiting, eager.then_some(&mut ready));
                    }
                    prepared => {
                        started[i] = Some(super::clock::now());
                        self.recorder.step_started(i);
                        let (spec, fallback_tool) =
                            (&plan.specs[i], plan.fallbacks[i].as_ref().map(|f| &f.0));
                        let (max, tolerate) =
                            plan.for_each[i].as_ref().map_or((None, 0), |f| (f.max, f.tolerate));
                        in_flight.push(async move {
                            // Read only by the journal.
                            let idempotent =
                                !super::journaled::journaled() || registry.idempotent(&spec.tool);
                            let outcome = match prepared {
                                Prepared::Call(args, fallback) => {
                                    let logged = super::journaled::journaled().then(|| {
                                        let secrets = secret_parameters(registry.definition(&spec.tool));
                                        Value::Object(super::journaled::redacted(&args, &secrets))
                                    });
                                    let call = call(spec, args, fallback_tool.zip(fallback), registry);
                                    journaled(spec, idempotent, logged, call).await
                                }
                                Prepared::Calls(calls) => {
                                    // Its calls are journaled one by one, as idempotent or not.
                                    let call = call_each(spec, calls, max, tolerate, idempotent, registry);
                                    journaled(spec, true, None, call).await
                                }
                                Prepared::Done(outcome) => *outcome,
                            };
                            (i, outcome)
                        });
                    }
                }
            }
            let next = if self.recorder.stopping().is_some() {
                in_flight.next().await
            } else {
                tokio::select! {
                    biased;
                    error = &mut stop => {
                        // Stopped from outside: what is in flight is cancelled.
                        self.recorder.stop_run(error);
                        in_flight = futures::stream::FuturesUnordered::new();
                        for (j, begun) in started.iter_mut().enumerate() {
                            if let Some(at) = begun.take() {
                                self.cancel(j, at);
                                release(j, &users, &mut waiting, eager.then_some(&mut ready));
                            }
                        }
                        continue;
                    }
                    next = in_flight.next() => next,
                }
            };
            match next {
                Some((i, outcome)) => {
                    started[i] = None;
                    let stopping = self.recorder.stopping().is_some();
                    self.end(i, outcome);
                    release(i, &users, &mut waiting, eager.then_some(&mut ready));
                    if !stopping && self.recorder.stopping().is_some() {
                        // The run stops: what is in flight is cancelled.
                        in_flight = futures::stream::FuturesUnordered::new();
                        for (j, begun) in started.iter_mut().enumerate() {
                            if let Some(at) = begun.take() {
                                self.cancel(j, at);
                                release(j, &users, &mut waiting, eager.then_some(&mut ready));
                            }
                        }
                    }
                }
                None if !ready.is_empty() => {}
                None => {
                    level += 1;
                    match plan.graph.levels.get(level) {
                        Some(next) if !eager => {
                            super::tick();
                            ready.extend(next.iter().copied());
                        }
                        _ => break,
                    }
                }
            }
        }
        if self.recorder.stopping().is_none() {
            return Ok(());
        }
        self.compensate(registry).await;
        Err(self.recorder.fail())
    }

    /// Keeps how step `i` ended: its record, its output, and whether its failure stops the run.
    fn end(&mut self, i: usize, outcome: StepOutcome<Option<Value>>) {
        let ended = outcome.0.status.ended().unwrap_or(Ended::Skipped);
        self.scope.ended[i] = Some(ended);
        self.scope.timed_out[i] = outcome.0.timed_out;
        match self.recorder.record(outcome) {
            Ok(output) => self.scope.results[i] = output,
            Err(failed) => {
                let skips = self.plan.policies[i].on_error == workflow_core::model::OnError::Skip;
                if !skips || failed.error().is_engine() {
                    self.recorder.stop(failed);
                }
            }
        }
    }

    /// Records step `i`, whose call (started `at`) the run cancelled because it is stopping.
    fn cancel(&mut self, i: usize, at: tokio::time::Instant) {
        let spec = &self.plan.specs[i];
        let mut record = StepRecord::pending(spec.id.clone(), spec.tool.clone());
        record.started = Some(at);
        record.finished = Some(super::clock::now());
        record.status = super::StepStatus::Cancelled;
        record.error = Some(format!("cancelled: {}", self.recorder.stopping_reason()));
        self.scope.ended[i] = Some(Ended::Cancelled);
        self.recorder.skip(record);
    }

    /// The compensations of the steps that succeeded, latest first, each through the step
    /// driver with its own retries; one that fails is recorded and the others still run.
    async fn compensate<T: Toolbox + ?Sized>(&mut self, registry: &T) {
        let plan = self.plan;
        for position in self.recorder.compensation_order() {
            let Some(&i) = self.recorder.step_id(position).and_then(|id| plan.index.get(id)) else {
                continue;
            };
            let Some((spec, parameters)) = plan.compensations[i].as_ref() else { continue };
            let outcome = match self.render(parameters) {
                Ok(args) => {
                    let (record, result) = call(spec, args, None, registry).await;
                    (record, result.map(drop))
                }
                Err((name, reason)) => crate::exec::failed(spec, template_error(&name, &reason)),
            };
            self.recorder.compensated(position, outcome);
        }
    }

    /// Decides whether step `i` runs, and renders its arguments (and its fallback's).
    fn prepare(&self, i: usize) -> Prepared {
        let spec = &self.plan.specs[i];
        let stopping = self.recorder.stopping();
        let admit =
            self.plan.graph.admit(i, |n| self.scope.ended[n].unwrap_or(Ended::Skipped), stopping.is_some());
        match admit {
            Admit::Run => {}
            Admit::Stopping => {
                return Prepared::Done(Box::new(skipped(spec, &self.recorder.stopping_reason())));
            }
            Admit::Skip { because, .. } => {
                let reason = admit.reason(&self.workflow.steps[because].step_id);
                return Prepared::Done(Box::new(skipped(spec, &reason)));
            }
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
        if let Some(fan_out) = &self.plan.for_each[i] {
            return self.prepare_each(i, fan_out);
        }
        let args = match self.render(&self.plan.parameters[i]) {
            Ok(args) => args,
            Err((name, reason)) => {
                return Prepared::Done(Box::new(crate::exec::failed(spec, template_error(&name, &reason))));
            }
        };
        // A fallback's arguments that do not render fail the fallback, if it is called.
        let fallback = self.plan.fallbacks[i].as_ref().map(|(_, parameters)| {
            self.render(parameters)
                .map_err(|(name, reason)| template_error(&format!("fallback.{name}"), &reason))
        });
        Prepared::Call(args, fallback)
    }

    /// The arguments of a `for item in …` step, one set per element of its list.
    fn prepare_each(&self, i: usize, fan_out: &FanOut) -> Prepared {
        let spec = &self.plan.specs[i];
        let limits = self.executor.limits;
        let list = match eval(&fan_out.list, &self.scope, limits) {
            Ok(list) => list,
            Err(e) => {
                let error = template_error("for_each", &e.message);
                return Prepared::Done(Box::new(crate::exec::failed(spec, error)));
            }
        };
        let Value::Array(items) = &*list else {
            let error = StepError::Reference {
                path: Cow::Owned(match &fan_out.list {
                    workflow_core::ast::Expr::Path(path) => path.to_string(),
                    other => other.to_string(),
                }),
                reason: format!("`for … in` needs a list, found {}", kind(&list)),
            };
            return Prepared::Done(Box::new(crate::exec::failed(spec, error)));
        };
        let mut calls = Vec::with_capacity(items.len());
        for item in items {
            let scope = ItemScope { run: &self.scope, name: &fan_out.item, value: item };
            match render_args(&self.plan.parameters[i], &scope, limits) {
                Ok(args) => calls.push(args),
                Err((name, reason)) => {
                    return Prepared::Done(Box::new(crate::exec::failed(
                        spec,
                        template_error(&name, &reason),
                    )));
                }
            }
        }
        Prepared::Calls(calls)
    }

    /// Arguments with their templates rendered, or the parameter that failed and why.
    fn render(&self, parameters: &[(String, Compiled)]) -> Result<Map<String, Value>, (String, String)> {
        render_args(parameters, &self.scope, self.executor.limits)
    }
}

/// Arguments with their templates rendered in `scope`, or the parameter that failed and why.
fn render_args(
    parameters: &[(String, Compiled)],
    scope: &dyn Scope,
    limits: Limits,
) -> Result<Map<String, Value>, (String, String)> {
    let mut args = Map::new();
    for (name, compiled) in parameters {
        let v = value(compiled, scope, limits).map_err(|reason| (name.clone(), reason))?;
        args.insert(name.clone(), v);
    }
    Ok(args)
}

/// A run's scope with the loop variable of a `for` step.
struct ItemScope<'a> {
    run: &'a dyn Scope,
    name: &'a str,
    value: &'a Value,
}

impl Scope for ItemScope<'_> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        if name == self.name { Some(self.value) } else { self.run.lookup(name) }
    }

    fn names(&self) -> Vec<&str> {
        let mut names = self.run.names();
        names.push(self.name);
        names
    }
}

/// Marks step `i` ended: in an eager run, the steps waiting only for it become ready.
fn release(
    i: usize,
    users: &[Vec<usize>],
    waiting: &mut [usize],
    ready: Option<&mut std::collections::VecDeque<usize>>,
) {
    let Some(ready) = ready else { return };
    for &u in &users[i] {
        waiting[u] -= 1;
        if waiting[u] == 0 {
            ready.push_back(u);
        }
    }
}

/// Whether an input's declared type is a secret (`Secret<String>`): its value is never journaled.
fn is_secret_type(ty: &str) -> bool {
    let ty = ty.trim();
    ty.starts_with("Secret<") || ty.contains("::Secret<")
}

/// The parameters a tool marks secret in its input schema (`"writeOnly": true`, which
/// `#[secret]` and `Secret<T>` set): their values are never journaled.
fn secret_parameters(definition: Option<&crate::ToolDefinition>) -> Vec<&str> {
    let properties = definition.and_then(|d| d.input_schema.as_object()?.get("properties")?.as_object());
    properties
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.get("writeOnly").and_then(Value::as_bool) == Some(true))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// A step of a run-time workflow under the run's journal: its recorded output, if it succeeded
/// in an earlier attempt of the run; otherwise `step` runs, its start and its end journaled
/// (with `args`, its arguments, secrets redacted).
async fn journaled<F>(
    spec: &StepSpec,
    idempotent: bool,
    args: Option<Value>,
    step: F,
) -> StepOutcome<Option<Value>>
where
    F: std::future::Future<Output = StepOutcome<Option<Value>>>,
{
    use super::journaled::Replayed;
    let mut record = StepRecord::pending(spec.id.clone(), spec.tool.clone());
    let journal = match super::journaled::replay::<Value>(spec, &mut record, idempotent) {
        Replayed::Done(result) => return (record, crate::exec::some(result)),
        Replayed::Run(None) => return step.await,
        Replayed::Run(Some(journal)) => journal,
    };
    if let Err(error) = journal.started(idempotent).await {
        return crate::exec::failed(spec, error);
    }
    let (mut record, result) = step.await;
    let result = result.and_then(|output| output.ok_or_else(crate::exec::never_ran));
    let result = journal.settle(&mut record, result, args).await;
    (record, crate::exec::some(result))
}

/// Calls a step's tool through the step driver.
///
/// With a fallback (its tool, and its arguments or why they did not render), a failure that is
/// not the engine's calls it once; its output takes the step's place.
async fn call<T: Toolbox + ?Sized>(
    spec: &StepSpec,
    args: Map<String, Value>,
    fallback: Option<(&String, FallbackArgs)>,
    registry: &T,
) -> StepOutcome<Option<Value>> {
    let (mut record, result) = drive_owned(spec, || {
        let args = Value::Object(args.clone());
        async move { registry.call(&spec.tool, args).await.map_err(|e| call_error(&spec.tool, e)) }
    })
    .await;
    let result = match (result, fallback) {
        (Err(failure), Some((tool, args))) if !failure.is_engine() => {
            let call = || async move {
                let args = Value::Object(args?);
                registry.call(tool, args).await.map_err(|e| call_error(tool, e))
            };
            super::driver::fall_back_after(spec, Cow::Owned(tool.clone()), &mut record, failure, call).await
        }
        (result, _) => result,
    };
    (record, crate::exec::some(result))
}

/// Calls a `for item in …` step's tool once per set of arguments, through the step driver's
/// fan-out: its result is the list of the calls' results (`null` for a failed call).
async fn call_each<T: Toolbox + ?Sized>(
    spec: &StepSpec,
    calls: Vec<Map<String, Value>>,
    max: Option<usize>,
    tolerate: usize,
    idempotent: bool,
    registry: &T,
) -> StepOutcome<Option<Value>> {
    let mut record = StepRecord::pending(spec.id.clone(), spec.tool.clone());
    let calls = &calls;
    let secrets = if super::journaled::journaled() {
        secret_parameters(registry.definition(&spec.tool))
    } else {
        Vec::new()
    };
    let logged =
        |i: usize| calls.get(i).map(|args| Value::Object(super::journaled::redacted(args, &secrets)));
    let call = |i: usize| {
        move || {
            let args = Value::Object(calls[i].clone());
            async move { registry.call(&spec.tool, args).await.map_err(|e| call_error(&spec.tool, e)) }
        }
    };
    let result =
        super::driver::fan_out(spec, &mut record, calls.len(), max, tolerate, idempotent, call, logged).await;
    let result =
        result.map(|outputs| Value::Array(outputs.into_iter().map(|o| o.unwrap_or(Value::Null)).collect()));
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
