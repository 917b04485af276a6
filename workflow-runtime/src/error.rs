//! Errors of tools, steps and runs.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use crate::exec::RunRecord;

/// Whether retrying a failed tool call can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A transient failure (a timeout, a dropped connection, a rate limit): retrying may succeed.
    Retryable,
    /// A failure that the same call will hit again (bad arguments, a missing resource).
    Permanent,
}

/// The error a tool returns.
///
/// A tool's own error type converts into it with `Into<ToolError>`; the kind decides whether
/// a step's retry policy tries again. As in Temporal, an error is retryable unless it is marked
/// permanent: `Err("…".into())` and `Err(format!(…).into())` are retried under `retry N`, and
/// a tool says that trying again cannot help with [`ToolError::permanent`]. Arguments that do
/// not fit a tool's parameters (a run-time workflow's call by name) are permanent.
///
/// ```
/// use workflow::ToolError;
/// let err = ToolError::retryable("rate limited");
/// assert!(err.is_retryable());
/// assert_eq!(err.to_string(), "rate limited");
/// assert!(ToolError::from("upstream timed out").is_retryable());
/// assert!(!ToolError::permanent("no such user").is_retryable());
/// ```
///
/// An error may also carry a class (`rate_limited`, `unavailable`, or any name of the tool's),
/// for steps that retry only some classes: `retry 3 on timeout, rate_limited`.
///
/// ```
/// use workflow::ToolError;
/// let err = ToolError::retryable("slow down").with_class(ToolError::RATE_LIMITED);
/// assert_eq!(err.class(), Some("rate_limited"));
/// ```
#[derive(Debug)]
pub struct ToolError {
    kind: ErrorKind,
    class: Option<Cow<'static, str>>,
    message: Cow<'static, str>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl ToolError {
    /// A failure that retrying may fix.
    pub fn retryable(message: impl Into<Cow<'static, str>>) -> Self {
        Self { kind: ErrorKind::Retryable, class: None, message: message.into(), source: None }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(message: impl Into<Cow<'static, str>>) -> Self {
        Self { kind: ErrorKind::Permanent, class: None, message: message.into(), source: None }
    }

    /// The class of a call that took too long (a step's `timeout` gives it too).
    pub const TIMEOUT: &'static str = "timeout";
    /// The class of a call refused for going too fast (HTTP 429).
    pub const RATE_LIMITED: &'static str = "rate_limited";
    /// The class of a call to a service that is down or overloaded (HTTP 502, 503, 504).
    pub const UNAVAILABLE: &'static str = "unavailable";

    /// Gives the error a class, for `retry N on <class>, …`.
    #[must_use]
    pub fn with_class(mut self, class: impl Into<Cow<'static, str>>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// The error's class, if it was given one.
    pub fn class(&self) -> Option<&str> {
        self.class.as_deref()
    }

    /// Attaches the underlying error, reported by [`Error::source`](StdError::source).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Whether retrying may succeed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// `true` for [`ErrorKind::Retryable`].
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error with every secret seen by the process scrubbed from its message
    /// ([`secret::scrub`](crate::secret::scrub)); a source whose text holds one is dropped.
    #[must_use]
    pub fn scrubbed(mut self) -> Self {
        if let Cow::Owned(clean) = crate::secret::scrub(&self.message) {
            self.message = Cow::Owned(clean);
        }
        let mut source: Option<&(dyn StdError + 'static)> = self.source.as_deref().map(|s| s as _);
        while let Some(cause) = source {
            if matches!(crate::secret::scrub(&cause.to_string()), Cow::Owned(_)) {
                self.source = None;
                break;
            }
            source = cause.source();
        }
        self
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ToolError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// Retryable, as every error not marked permanent.
impl From<String> for ToolError {
    fn from(message: String) -> Self {
        Self::retryable(message)
    }
}

/// Retryable, as every error not marked permanent.
impl From<&'static str> for ToolError {
    fn from(message: &'static str) -> Self {
        Self::retryable(message)
    }
}

impl From<std::convert::Infallible> for ToolError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<std::io::Error> for ToolError {
    /// Timeouts, interruptions and dropped connections are retryable; the rest is permanent.
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let retryable = matches!(
            err.kind(),
            K::TimedOut
                | K::Interrupted
                | K::WouldBlock
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::ConnectionRefused
                | K::BrokenPipe
                | K::UnexpectedEof
        );
        let message = err.to_string();
        let base = if retryable { Self::retryable(message) } else { Self::permanent(message) };
        base.with_source(err)
    }
}

impl From<serde_json::Error> for ToolError {
    fn from(err: serde_json::Error) -> Self {
        Self::permanent(err.to_string()).with_source(err)
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The tool returned an error.
    #[error("tool `{tool}` failed: {source}")]
    Tool {
        /// The tool's name.
        tool: Cow<'static, str>,
        /// The tool's error.
        #[source]
        source: ToolError,
    },
    /// The tool panicked; the panic was caught and failed this step only.
    #[error("tool `{tool}` panicked: {message}")]
    Panicked {
        /// The tool's name.
        tool: Cow<'static, str>,
        /// The panic payload, when it was a string.
        message: String,
    },
    /// The step did not finish within its timeout.
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// The step's `deadline` passed, with every attempt and wait so far: it is not retried.
    #[error("deadline of {0:?} passed")]
    DeadlineExceeded(std::time::Duration),
    /// A `<<step.path>>` reference could not be resolved at run time.
    #[error("reference `{path}`: {reason}")]
    Reference {
        /// The reference as written, e.g. `list_issues.issues[0]`.
        path: Cow<'static, str>,
        /// What went wrong, e.g. ``index 0 is out of range for a list of 0 items``.
        reason: String,
    },
    /// A parameter's template could not be evaluated (run-time workflows).
    #[error("parameter `{parameter}`: {reason}")]
    Template {
        /// The parameter, or `condition`.
        parameter: String,
        /// What went wrong.
        reason: String,
    },
    /// More calls of a `for item in …` step failed than it tolerates.
    #[error(
        "{failed} of {total} calls failed, more than the {tolerate} tolerated; item {first_item}: {first}"
    )]
    TooManyFailures {
        /// How many calls failed (counting stops at the first past `tolerate`).
        failed: usize,
        /// How many items the list had.
        total: usize,
        /// How many failures the step tolerates.
        tolerate: usize,
        /// The position of the first failed item.
        first_item: usize,
        /// Why it failed.
        #[source]
        first: Box<StepError>,
    },
    /// The run was cancelled through its [`RunContext`](crate::RunContext)'s cancellation
    /// token.
    #[error("the run was cancelled")]
    Cancelled,
    /// The whole run's deadline ([`RunContext::with_deadline`](crate::RunContext::with_deadline))
    /// passed.
    #[error("the run's deadline of {0:?} passed")]
    RunDeadlineExceeded(std::time::Duration),
    /// The arguments could not be turned into the tool's input.
    #[error("invalid arguments for tool `{tool}`: {reason}")]
    Arguments {
        /// The tool's name.
        tool: Cow<'static, str>,
        /// What was wrong with them.
        reason: String,
    },
    /// The run's journal could not be read or written, or refused to resume the run (its
    /// definition or inputs changed, a step's outcome is unknown): never retried or skipped.
    #[error(transparent)]
    Journal(Box<crate::journal::JournalError>),
}

impl From<Box<StepError>> for StepError {
    fn from(error: Box<StepError>) -> Self {
        *error
    }
}

impl From<crate::journal::JournalError> for StepError {
    fn from(error: crate::journal::JournalError) -> Self {
        StepError::Journal(Box::new(error))
    }
}

impl StepError {
    /// Whether a retry policy may try this step again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StepError::Tool { source, .. } => source.is_retryable(),
            StepError::TimedOut(_) => true,
            StepError::Panicked { .. }
            | StepError::DeadlineExceeded(_)
            | StepError::Reference { .. }
            | StepError::Template { .. }
            | StepError::TooManyFailures { .. }
            | StepError::Cancelled
            | StepError::RunDeadlineExceeded(_)
            | StepError::Arguments { .. }
            | StepError::Journal(_) => false,
        }
    }

    /// The error's class, as `retry N on <class>, …` names it: `timeout` for a step's timeout
    /// (or a tool's error of that class), `panic` for a panic, a tool error's own class.
    pub fn class(&self) -> Option<&str> {
        match self {
            StepError::Tool { source, .. } => source.class(),
            StepError::TimedOut(_) => Some(ToolError::TIMEOUT),
            StepError::Panicked { .. } => Some("panic"),
            _ => None,
        }
    }

    /// Whether the failure is the engine's rather than the tool's (a template that could not be
    /// evaluated within its limits, a journal that cannot go on): `on_error skip` and fallbacks
    /// never hide it.
    pub fn is_engine(&self) -> bool {
        matches!(self, StepError::Template { .. } | StepError::Journal(_))
    }
}

/// A workflow run that stopped because a step failed.
///
/// It carries the run's record, so the steps that finished before the failure are not lost.
/// Its `Debug` form (what `main` prints for an error returned with `?`) is the message, its
/// causes, and one line per step.
///
/// A run stopped from outside (cancelled, or past its deadline) names no step: `step` is empty.
#[derive(thiserror::Error)]
#[error("workflow `{workflow}` {}: {error}", if step.is_empty() { "stopped".to_owned() } else { format!("failed at step `{step}`") })]
pub struct WorkflowError {
    /// The workflow's name.
    pub workflow: Cow<'static, str>,
    /// The step that failed.
    pub step: Cow<'static, str>,
    /// Why it failed.
    #[source]
    pub error: StepError,
    /// What every step did up to the failure.
    pub record: RunRecord,
}

impl fmt::Debug for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self}")?;
        let mut source = StdError::source(&self.error);
        while let Some(cause) = source {
            writeln!(f, "  caused by: {cause}")?;
            source = cause.source();
        }
        write_steps(f, &self.record)
    }
}

/// One line per step of a run, for the `Debug` form of the errors that carry its record.
pub(crate) fn write_steps(f: &mut fmt::Formatter<'_>, record: &RunRecord) -> fmt::Result {
    writeln!(f, "steps:")?;
    write_records(f, &record.steps)?;
    if !record.compensations.is_empty() {
        writeln!(f, "compensations:")?;
        write_records(f, &record.compensations)?;
    }
    Ok(())
}

fn write_records(f: &mut fmt::Formatter<'_>, records: &[crate::StepRecord]) -> fmt::Result {
    for step in records {
        let attempts = step.attempts.len();
        write!(f, "  {} ({}): {:?}, {attempts} attempt(s)", step.step, step.tool, step.status)?;
        if let Some(d) = step.duration() {
            write!(f, " in {d:?}")?;
        }
        if let Some(error) = &step.error {
            write!(f, ": {error}")?;
        }
        writeln!(f)?;
    }
    Ok(())
}
