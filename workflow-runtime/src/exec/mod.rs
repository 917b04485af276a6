//! Execution: the step driver, run records, and the pieces that `workflow!` futures are made of.

mod clock;
mod context;
mod driver;
mod errors;
mod observe;
mod record;
mod run;
mod template;

pub use clock::{Timed, jitter_fraction, now, tick, timed, timed_with_seed, wall};
pub use context::RunContext;
pub use driver::{RetryPolicy, StepOutcome, StepSpec, drive, drive_owned, tool_error};
pub use errors::DeadlineExceeded;
pub use observe::RunObserver;
pub use record::{Attempt, Attempts, RunRecord, StepRecord, StepStatus};
pub use run::{Failed, Run, RunRecorder};
pub use template::{ExecuteError, PreparedWorkflow, Schedule, TemplateRun, WorkflowExecutor};

use std::future::Future;

use tracing::Instrument as _;

use crate::error::StepError;

/// A step of a compiled workflow: its id, its tool and the steps it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepInfo {
    /// The step's id.
    pub id: &'static str,
    /// The name of the tool it calls.
    pub tool: &'static str,
    /// The ids of the steps it needs, by reference or `depends`.
    pub needs: &'static [&'static str],
}

/// The outcome of a step that did not run.
pub fn skipped<T>(spec: &StepSpec, reason: &str) -> StepOutcome<Option<T>> {
    (StepRecord::skipped(spec.id.clone(), spec.tool.clone(), reason), Ok(None))
}

/// The outcome of a step that failed before its tool was called (its condition failed).
pub fn failed<T>(spec: &StepSpec, error: StepError) -> StepOutcome<T> {
    let mut record = StepRecord::pending(spec.id.clone(), spec.tool.clone());
    let result = fail(&mut record, error);
    (record, result)
}

/// Records that a step did not run, and why.
pub fn skip<T>(record: &mut StepRecord, reason: &str) -> Result<Option<T>, StepError> {
    record.status = StepStatus::Skipped;
    record.error = Some(reason.to_owned());
    Ok(None)
}

/// Records that a step failed before its tool was called (its condition failed).
pub fn fail<T>(record: &mut StepRecord, error: StepError) -> Result<T, StepError> {
    record.status = StepStatus::Failed;
    record.error = Some(error.to_string());
    Err(error)
}

/// The result of a step that may not run, once it has run.
pub fn some<T>(result: Result<T, StepError>) -> Result<Option<T>, StepError> {
    result.map(Some)
}

/// `on_error skip`: the failure is in the record, and the run goes on without the output.
pub fn failure_skips<T>(result: Result<T, StepError>) -> Result<Option<T>, StepError> {
    Ok(result.ok())
}

/// Runs a workflow's body (compiled or run-time) inside its `tracing` span, with the step
/// driver's clock read once per poll and retry jitter drawn from `seed` when one is given.
pub fn in_run_span<F: Future>(
    workflow: &str,
    seed: Option<u64>,
    body: F,
) -> tracing::instrument::Instrumented<Timed<F>> {
    timed_with_seed(body, seed).instrument(tracing::info_span!("workflow.run", workflow))
}
