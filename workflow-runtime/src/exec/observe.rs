//! [`RunObserver`]: what a run tells the code watching it (a progress display, an execution
//! log, later a journal).

use super::record::{RunRecord, StepRecord};

/// Watches a run: told of every step as the run takes in its result, and of the run's record
/// when it ends.
///
/// Every method has a default that does nothing, so an observer implements only what it needs.
/// Observers are called on the run's task, in the order they were added; they should return
/// quickly (send the record to a channel rather than write it to a database in place).
///
/// A run that is dropped or cancelled part-way still calls [`on_run_finished`]
/// (from the drop of its future) with a partial record: the steps that finished as they are,
/// the rest [`Pending`](crate::StepStatus::Pending) or
/// [`Cancelled`](crate::StepStatus::Cancelled), and [`RunRecord::cancelled`] set.
///
/// ```
/// use std::sync::Mutex;
/// use workflow::{RunObserver, StepRecord};
///
/// #[derive(Default)]
/// struct Progress(Mutex<Vec<String>>);
///
/// impl RunObserver for Progress {
///     fn on_step_finished(&self, step: &StepRecord) {
///         self.0.lock().unwrap().push(format!("{}: {:?}", step.step, step.status));
///     }
/// }
/// ```
///
/// [`on_run_finished`]: RunObserver::on_run_finished
pub trait RunObserver: Send + Sync {
    /// A step has finished (succeeded, failed or been skipped). A compiled workflow reports the
    /// steps of a level once the whole level has finished; a run-time workflow reports each
    /// step as it finishes under [`Schedule::Eager`](crate::Schedule::Eager), after its level
    /// otherwise.
    fn on_step_finished(&self, step: &StepRecord) {
        let _ = step;
    }

    /// A run-time workflow's step has started its call to `tool` (a compiled workflow reports
    /// only the ends of its steps).
    fn on_step_started(&self, step: &str, tool: &str) {
        let _ = (step, tool);
    }

    /// The run has ended: it succeeded, a step failed, or it was dropped or cancelled.
    fn on_run_finished(&self, run: &RunRecord) {
        let _ = run;
    }
}
