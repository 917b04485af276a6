//! A run in progress ([`RunRecorder`]) and a finished one ([`Run`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::{Deref, DerefMut};

use tokio::time::Instant;

use super::driver::{StepOutcome, StepSpec};
use super::observe::RunObserver;
use super::record::{RunRecord, StepRecord, StepStatus};
use crate::error::{StepError, WorkflowError};

/// A finished run: the typed outputs of every step and the run's record.
///
/// It dereferences to the outputs, so `run.create_pr.url` reads a step's output directly.
#[derive(Debug, Clone)]
pub struct Run<O> {
    /// One field per step.
    pub outputs: O,
    /// What each step did.
    pub record: RunRecord,
}

impl<O> Deref for Run<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.outputs
    }
}

impl<O> DerefMut for Run<O> {
    fn deref_mut(&mut self) -> &mut O {
        &mut self.outputs
    }
}

/// A step that failed, waiting to be reported by [`RunRecorder::check`].
#[derive(Debug)]
pub struct Failed {
    step: Cow<'static, str>,
    error: StepError,
}

impl Failed {
    /// Why the step failed.
    pub fn error(&self) -> &StepError {
        &self.error
    }
}

/// Collects step records while a run goes on, and tells the run's observers.
///
/// Dropped before the run ended (the run's future was dropped, or cancelled), it hands its
/// observers the partial record: the steps that finished as they are, the ones that were
/// running [`Cancelled`](StepStatus::Cancelled), the rest [`Pending`](StepStatus::Pending).
pub struct RunRecorder<'o> {
    record: RunRecord,
    observers: &'o [&'o dyn RunObserver],
    /// Every step of the workflow, for a recorder that keeps records in the order steps end:
    /// those missing from a cancelled run are added to its record as pending.
    expected: &'o [StepSpec],
    /// The failure that is stopping the run, once a step failed with `on_error abort`.
    stopped: Option<Failed>,
    open: bool,
}

impl<'o> RunRecorder<'o> {
    /// Starts recording a run of `workflow` with room for `steps` step records.
    pub fn new(workflow: impl Into<Cow<'static, str>>, steps: usize) -> Self {
        let now = super::clock::now();
        Self {
            record: RunRecord {
                workflow: workflow.into(),
                started_at: super::clock::wall(now),
                finished_at: super::clock::wall(now),
                started: now,
                finished: now,
                cancelled: false,
                steps: Vec::with_capacity(steps),
                compensations: Vec::new(),
                tokens: None,
            },
            observers: &[],
            expected: &[],
            stopped: None,
            open: true,
        }
    }

    /// Starts recording a run of a compiled workflow: one pending record per step, in the
    /// order of `steps` (level by level), for the steps to fill in place.
    pub fn planned(workflow: &'static str, steps: &[&StepSpec]) -> Self {
        let mut recorder = Self::new(workflow, steps.len());
        recorder.record.steps.extend(steps.iter().map(|s| StepRecord::pending(s.id.clone(), s.tool.clone())));
        recorder
    }

    /// Tells `observers` of every step and of the end of the run.
    #[must_use]
    pub fn observed_by(mut self, observers: &'o [&'o dyn RunObserver]) -> Self {
        self.observers = observers;
        self
    }

    /// Names every step of the workflow, so that a cancelled run's record lists the steps that
    /// had not ended (for a recorder made with [`new`](Self::new), which keeps records in the
    /// order steps end).
    #[must_use]
    pub fn expecting(mut self, steps: &'o [StepSpec]) -> Self {
        self.expected = steps;
        self
    }

    /// The records of the `N` steps of a level, from position `start`, for its steps to fill.
    pub fn level<const N: usize>(&mut self, start: usize) -> &mut [StepRecord; N] {
        let slots = self
            .record
            .steps
            .get_mut(start..start + N)
            .and_then(|s| <&mut [StepRecord; N]>::try_from(s).ok());
        // `planned` made one record per step, and the macro asks for each level's own range.
        #[allow(clippy::expect_used)]
        slots.expect("a level's records lie within the planned records")
    }

    /// Passes on the output of the step at `position`, or ends the run with its error.
    #[inline]
    pub fn settle<T>(
        &mut self,
        position: usize,
        result: Result<T, StepError>,
    ) -> Result<T, Box<WorkflowError>> {
        self.notify(position);
        match result {
            Ok(output) => Ok(output),
            Err(error) => Err(self.failed_at(position, error)),
        }
    }

    /// Ends the run with the error of the step at `position`.
    #[cold]
    fn failed_at(&mut self, position: usize, error: StepError) -> Box<WorkflowError> {
        let step = self.record.steps.get(position).map_or(Cow::Borrowed("?"), |r| r.step.clone());
        self.ended_by(Failed { step, error })
    }

    /// Ends the run with `failed`'s error and the record so far.
    fn ended_by(&mut self, Failed { step, error }: Failed) -> Box<WorkflowError> {
        Box::new(WorkflowError { workflow: self.record.workflow.clone(), step, error, record: self.take() })
    }

    /// Passes on the output of the step at `position` of a compiled workflow's level, or ends
    /// the run: `None` is a step whose call was cancelled because another step stopped the run.
    #[inline]
    pub fn settle_slot<T, E: Into<StepError>>(
        &mut self,
        position: usize,
        result: Option<Result<T, E>>,
    ) -> Result<T, Box<WorkflowError>> {
        self.notify(position);
        match result {
            Some(Ok(output)) => Ok(output),
            Some(Err(error)) => Err(self.failed_at(position, error.into())),
            None => Err(self.failed_at(position, was_cancelled())),
        }
    }

    /// The output of the step at `position` of a compiled workflow's level, if it gave one, while
    /// the run may be stopping: `None` for a step that did not run or whose call was cancelled.
    pub fn settle_soft<T>(&mut self, position: usize, result: Option<Result<T, StepError>>) -> Option<T> {
        // A step cancelled by the stop was marked so by `stop_in_level` or `cancel_level`.
        let result = match result {
            Some(Ok(output)) => Some(output),
            Some(Err(error)) => {
                // Taken out by `TakeFailure` before; kept if it was not.
                self.stop_at(position, error);
                None
            }
            None => None,
        };
        self.notify(position);
        result
    }

    /// Stops the run after the step at `position` failed with `error` (the first failure is the
    /// one the run reports): no step starts from now on but those with `after X …`.
    pub fn stop_at(&mut self, position: usize, error: StepError) {
        if self.stopped.is_none() {
            let step = self.record.steps.get(position).map_or(Cow::Borrowed("?"), |r| r.step.clone());
            self.stopped = Some(Failed { step, error });
        }
    }

    /// Stops the run after the step at `start + k` failed with `error`, in the level of `width`
    /// steps from `start` (a compiled workflow's): the level's other steps that had not ended
    /// were cancelled.
    pub fn stop_in_level(&mut self, start: usize, width: usize, k: usize, error: StepError) {
        self.stop_at(start + k, error);
        self.cancel_level(start, width);
    }

    /// Marks the steps of the level of `width` steps from `start` (a compiled workflow's) that
    /// had not ended cancelled: the run stopped while they ran.
    pub fn cancel_level(&mut self, start: usize, width: usize) {
        let stopped = self.stopped.as_ref();
        if let Some(level) = self.record.steps.get_mut(start..start + width) {
            for record in level.iter_mut().filter(|r| r.status == StepStatus::Pending) {
                cancelled(record, stopped);
            }
        }
    }

    /// Why a step does not start while the run stops: "the run is stopping after `charge`
    /// failed", "the run is stopping: the run was cancelled".
    pub fn stopping_reason(&self) -> String {
        stopping_reason(self.stopped.as_ref())
    }

    /// Stops the run from outside (its cancellation or its deadline): it is recorded
    /// [`cancelled`](RunRecord::cancelled), and fails with `error` unless a step failed first.
    pub fn stop_run(&mut self, error: StepError) {
        self.record.cancelled = true;
        if self.stopped.is_none() {
            self.stopped = Some(Failed { step: Cow::Borrowed(""), error });
        }
    }

    /// Stops the run after `failed` (the first failure is the one the run reports).
    pub fn stop(&mut self, failed: Failed) {
        if self.stopped.is_none() {
            self.stopped = Some(failed);
        }
    }

    /// The step whose failure is stopping the run, if one is.
    pub fn stopping(&self) -> Option<&str> {
        self.stopped.as_ref().map(|f| f.step.as_ref())
    }

    /// How the step at `position` ended (a step not yet ended counts as skipped).
    pub fn ended(&self, position: usize) -> workflow_core::graph::Ended {
        let status = self.record.steps.get(position).map_or(StepStatus::Pending, |r| r.status);
        status.ended().unwrap_or(workflow_core::graph::Ended::Skipped)
    }

    /// How the step at `position` ended, as a condition tests it (`<<x.$timed_out>>`).
    pub fn status(&self, position: usize) -> workflow_core::graph::Status {
        let timed_out = self.record.steps.get(position).is_some_and(|r| r.timed_out);
        workflow_core::graph::Status { ended: self.ended(position), timed_out }
    }

    /// The trigger rule for the step at `position` of a compiled workflow, which needs the steps
    /// at `needs` (record positions), may run `after` one of them and needs those at `any_end`
    /// only to have ended: `true` if it runs; if not, its record says why.
    pub fn admit(
        &mut self,
        position: usize,
        needs: &[usize],
        after: Option<(usize, workflow_core::model::Trigger)>,
        any_end: &[usize],
    ) -> bool {
        let stopping = self.stopped.is_some();
        let admit = workflow_core::graph::admit(needs, after, any_end, |n| self.ended(n), stopping);
        let reason = match admit {
            workflow_core::graph::Admit::Run => return true,
            workflow_core::graph::Admit::Stopping => stopping_reason(self.stopped.as_ref()),
            workflow_core::graph::Admit::Skip { because, .. } => {
                let name = self.record.steps.get(because).map_or("?", |r| r.step.as_ref());
                admit.reason(name)
            }
        };
        if let Some(record) = self.record.steps.get_mut(position) {
            record.status = StepStatus::Skipped;
            record.error = Some(reason);
        }
        false
    }

    /// Tells the observers that the step at `position` ended (a compiled workflow's eager
    /// schedule, which settles its steps at the end of the run).
    pub fn step_ended(&mut self, position: usize) {
        self.notify(position);
    }

    /// The id of the step recorded at `position`.
    pub fn step_id(&self, position: usize) -> Option<&str> {
        self.record.steps.get(position).map(|r| r.step.as_ref())
    }

    /// Record positions of the steps that succeeded, latest first: the order in which their
    /// compensations run.
    pub fn compensation_order(&self) -> Vec<usize> {
        let succeeded =
            self.record.steps.iter().enumerate().filter(|(_, r)| r.status == StepStatus::Succeeded);
        let mut order: Vec<usize> = succeeded.map(|(i, _)| i).collect();
        order.reverse();
        order
    }

    /// Keeps the record of the compensation of the step at `position`, which is compensated if
    /// it succeeded.
    pub fn compensated(&mut self, position: usize, (mut record, result): StepOutcome<()>) {
        record.set_clock(self.record.started, self.record.started_at);
        super::journaled::compensation_ended(&record);
        if result.is_ok() {
            if let Some(step) = self.record.steps.get_mut(position) {
                step.status = StepStatus::Compensated;
                super::journaled::compensated(&step.step);
            }
        }
        self.step_finished(&record);
        self.record.compensations.push(record);
    }

    /// Ends a run that was stopping with its first failure: steps still pending are skipped (or
    /// cancelled, if they had started).
    pub fn fail(&mut self) -> Box<WorkflowError> {
        let stopped = self.stopped.take();
        for record in &mut self.record.steps {
            if record.status == StepStatus::Pending {
                if record.started.is_some() {
                    cancelled(record, stopped.as_ref());
                } else {
                    record.status = StepStatus::Skipped;
                    record.error = Some(stopping_reason(stopped.as_ref()));
                }
            }
        }
        let Failed { step, error } = stopped.unwrap_or_else(|| Failed {
            step: Cow::Borrowed("?"),
            error: StepError::Template {
                parameter: "run".to_owned(),
                reason: "the run was stopped".to_owned(),
            },
        });
        Box::new(WorkflowError { workflow: self.record.workflow.clone(), step, error, record: self.take() })
    }

    /// Ends a run that could not start (its journal refused to resume it, or could not be
    /// read): the error names no step, and the journal is not told of the run's end.
    pub fn refuse(&mut self, error: StepError) -> Box<WorkflowError> {
        self.open = false;
        let record = RunRecord { steps: std::mem::take(&mut self.record.steps), ..self.record.clone() };
        for observer in self.observers {
            observer.on_run_finished(&record);
        }
        Box::new(WorkflowError {
            workflow: self.record.workflow.clone(),
            step: Cow::Borrowed(""),
            error,
            record,
        })
    }

    /// Keeps a step's record and hands back its result, to be [`check`](Self::check)ed once
    /// every step of the level is recorded.
    pub fn record<T>(&mut self, (record, result): StepOutcome<T>) -> Result<T, Failed> {
        let step = record.step.clone();
        self.skip(record);
        result.map_err(|error| Failed { step, error })
    }

    /// Keeps the record of a step that did not run.
    pub fn skip(&mut self, mut record: StepRecord) {
        record.set_clock(self.record.started, self.record.started_at);
        self.step_finished(&record);
        self.record.steps.push(record);
    }

    /// Passes an output on, or ends the run with the step's error and the record so far.
    pub fn check<T>(&mut self, result: Result<T, Failed>) -> Result<T, Box<WorkflowError>> {
        result.map_err(|failed| self.ended_by(failed))
    }

    /// Ends the run.
    pub fn finish(mut self) -> RunRecord {
        self.take()
    }

    /// Sets the run's token usage, before it ends (so that its journal is told).
    pub fn set_tokens(&mut self, usage: crate::tokens::TokenUsage) {
        self.record.tokens = Some(usage);
    }

    /// [`finish`](Self::finish) where the recorder cannot be given up (a run-time run ends it
    /// inside its span, where the journal is told).
    pub fn end(&mut self) -> RunRecord {
        self.take()
    }

    /// Ends the run before its end (its deadline passed, or it was cancelled): the record so
    /// far, marked [`cancelled`](RunRecord::cancelled), with the steps that had not ended
    /// pending (cancelled, for those that had started).
    pub fn cancel(&mut self) -> RunRecord {
        for step in &mut self.record.steps {
            if step.status == StepStatus::Pending && step.started.is_some() {
                step.status = StepStatus::Cancelled;
            }
        }
        if !self.expected.is_empty() {
            let missing: Vec<StepRecord> = {
                let ended: HashSet<&str> = self.record.steps.iter().map(|s| s.step.as_ref()).collect();
                self.expected
                    .iter()
                    .filter(|s| !ended.contains(s.id.as_ref()))
                    .map(|s| StepRecord::pending(s.id.clone(), s.tool.clone()))
                    .collect()
            };
            self.record.steps.extend(missing);
        }
        self.record.cancelled = true;
        self.take()
    }

    /// Tells the observers that the step at `position` ended.
    /// Tells the observers that the step at `position` has started.
    pub fn step_started(&self, position: usize) {
        if let Some(record) = self.record.steps.get(position) {
            for observer in self.observers {
                observer.on_step_started(&record.step, &record.tool);
            }
        }
    }

    #[inline]
    fn notify(&mut self, position: usize) {
        if !self.observers.is_empty() {
            self.notify_observers(position);
        }
    }

    #[cold]
    fn notify_observers(&mut self, position: usize) {
        let (instant, wall) = (self.record.started, self.record.started_at);
        if let Some(record) = self.record.steps.get_mut(position) {
            // Observers see the step's wall-clock times; otherwise the run's end sets them.
            record.set_clock(instant, wall);
            let record = &*record;
            for observer in self.observers {
                observer.on_step_finished(record);
            }
        }
    }

    fn step_finished(&self, record: &StepRecord) {
        for observer in self.observers {
            observer.on_step_finished(record);
        }
    }

    /// The record, once: the run has ended, and its observers are told.
    fn take(&mut self) -> RunRecord {
        self.open = false;
        let finished = Instant::now();
        self.record.finished = finished;
        self.record.finished_at = super::clock::wall(finished);
        let (instant, wall) = (self.record.started, self.record.started_at);
        self.record.steps.iter_mut().for_each(|s| s.set_clock(instant, wall));
        let record = RunRecord { steps: std::mem::take(&mut self.record.steps), ..self.record.clone() };
        super::journaled::finished(&record);
        for observer in self.observers {
            observer.on_run_finished(&record);
        }
        record
    }
}

/// The error of a step whose call was cancelled because another step stopped the run.
#[cold]
fn was_cancelled() -> StepError {
    StepError::Template { parameter: "run".to_owned(), reason: "the step was cancelled".to_owned() }
}

/// Why a step did not start: the run was stopping after a failure.
fn stopping_reason(stopped: Option<&Failed>) -> String {
    match stopped {
        Some(failed) if failed.step.is_empty() => format!("the run is stopping: {}", failed.error),
        Some(failed) => format!("the run is stopping after `{}` failed", failed.step),
        None => "the run is stopping".to_owned(),
    }
}

/// Marks a record whose call was cancelled because the run stopped.
fn cancelled(record: &mut StepRecord, stopped: Option<&Failed>) {
    record.status = StepStatus::Cancelled;
    record.finished = Some(super::clock::now());
    record.error = Some(format!("cancelled: {}", stopping_reason(stopped)));
}

impl Drop for RunRecorder<'_> {
    fn drop(&mut self) {
        if self.open && !self.observers.is_empty() {
            self.cancel();
        }
    }
}

impl fmt::Debug for RunRecorder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunRecorder")
            .field("record", &self.record)
            .field("observers", &self.observers.len())
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}
