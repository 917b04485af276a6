//! How the errors of run-time workflows print: `Debug` draws them (it is what `main` shows for
//! an error returned with `?`), and they are [`miette::Diagnostic`]s for programs that draw
//! errors themselves.

use std::fmt;
use std::time::Duration;

use miette::Diagnostic;

use super::record::RunRecord;
use super::template::ExecuteError;

/// A run-time workflow that did not finish within the deadline of its
/// [`RunContext`](crate::RunContext): the steps still running were cancelled.
#[derive(thiserror::Error)]
#[error("workflow `{workflow}` did not finish within its deadline of {deadline:?}")]
pub struct DeadlineExceeded {
    /// The workflow's name.
    pub workflow: String,
    /// The deadline.
    pub deadline: Duration,
    /// What every step did: the calls the deadline cut short are cancelled, the steps that had
    /// not started skipped, and the compensations of the steps that succeeded ran.
    pub record: RunRecord,
}

impl fmt::Debug for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self}")?;
        crate::error::write_steps(f, &self.record)
    }
}

impl fmt::Debug for ExecuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteError::Invalid(problems) => fmt::Debug::fmt(problems, f),
            ExecuteError::Failed(error) => fmt::Debug::fmt(error, f),
            ExecuteError::DeadlineExceeded(error) => fmt::Debug::fmt(error, f),
            ExecuteError::Journal(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl Diagnostic for ExecuteError {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            ExecuteError::Invalid(problems) => problems.related(),
            ExecuteError::Failed(_) | ExecuteError::DeadlineExceeded(_) | ExecuteError::Journal(_) => None,
        }
    }
}
