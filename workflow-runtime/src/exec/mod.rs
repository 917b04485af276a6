//! Execution: the step driver, run records, and the pieces that `workflow!` futures are made of.

mod driver;
mod record;
mod run;
mod template;

pub use driver::{RetryPolicy, StepOutcome, StepSpec, drive, tool_error};
pub use record::{RunRecord, StepRecord, StepStatus};
pub use run::{Failed, Run, RunRecorder};
pub use template::{ExecuteError, Schedule, TemplateRun, WorkflowExecutor};

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
    record.status = StepStatus::Failed;
    record.error = Some(error.to_string());
    (record, Err(error))
}

/// The outcome of a step that may not run, once it has run.
pub fn some<T>((record, result): StepOutcome<T>) -> StepOutcome<Option<T>> {
    (record, result.map(Some))
}

/// `on_error skip`: a failure is recorded, and the run goes on without the step's output.
pub fn failure_skips<T>((record, result): StepOutcome<T>) -> StepOutcome<Option<T>> {
    (record, Ok(result.ok()))
}

/// Runs a run-time workflow's body inside its `tracing` span.
pub fn in_run_span_owned<F: Future>(workflow: &str, body: F) -> tracing::instrument::Instrumented<F> {
    body.instrument(tracing::info_span!("workflow.run", workflow))
}

/// Runs a workflow's body inside its `tracing` span.
pub fn in_run_span<F: Future>(workflow: &'static str, body: F) -> tracing::instrument::Instrumented<F> {
    body.instrument(tracing::info_span!("workflow.run", workflow))
}
