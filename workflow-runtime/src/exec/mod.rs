//! Execution: the step driver, run records, and the pieces that `workflow!` futures are made of.

mod clock;
mod context;
mod driver;
mod errors;
pub mod journaled;
mod observe;
mod plain;
mod record;
mod run;
mod template;

#[doc(hidden)]
pub use crate::tokens::tokens_of;
pub use clock::{
    Fresh, Timed, counter_ready, fresh, fresh_on_yield, jitter_fraction, now, tick, timed, timed_with_seed,
    wall,
};
pub use context::RunContext;
pub(crate) use driver::panic_message;
pub use driver::{
    RetryPolicy, StepOutcome, StepSpec, all_items, drive, drive_owned, fall_back, fan_out, tool_error,
};
pub use errors::DeadlineExceeded;
pub use observe::RunObserver;
pub use plain::Plain;
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
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.is_engine() => Err(error),
        Err(_) => Ok(None),
    }
}

/// Polls one step of a compiled workflow's level (see [`TakeFailure`]): `true` when it has
/// failed in a way that stops the run, so that the level stops polling the others; sets
/// `pending` while it runs.
#[inline]
pub fn poll_step<S: LevelStep + ?Sized>(
    step: std::pin::Pin<&mut S>,
    cx: &mut std::task::Context<'_>,
    pending: &mut bool,
) -> bool {
    step.poll_level(cx, pending)
}

/// A step of a compiled workflow's level, as the level polls it: its step function's future
/// (in a `MaybeDone`) or a [`Plain`] step.
pub trait LevelStep {
    /// Polls the step: `Ready` once it has ended, its result kept.
    fn poll_ended(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()>;

    /// Whether the step has ended with an error.
    fn failed(self: std::pin::Pin<&mut Self>) -> bool;

    /// Polls the step: `true` when it has failed, so that the level stops polling the others;
    /// sets `pending` while it runs.
    #[inline]
    fn poll_level(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        pending: &mut bool,
    ) -> bool {
        if self.as_mut().poll_ended(cx).is_pending() {
            *pending = true;
            return false;
        }
        self.failed()
    }
}

impl<F, T> LevelStep for futures::future::MaybeDone<F>
where
    F: Future<Output = Result<T, StepError>>,
{
    #[inline]
    fn poll_ended(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.poll(cx)
    }

    #[inline]
    fn failed(self: std::pin::Pin<&mut Self>) -> bool {
        self.output_mut().is_some_and(|output| output.is_err())
    }
}

impl<'r, F, T> LevelStep for Plain<'r, F, T>
where
    F: Future<Output = Result<T, crate::ToolError>> + Send + 'r,
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'r,
{
    #[inline]
    fn poll_ended(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.poll_step(cx)
    }

    #[inline]
    fn failed(self: std::pin::Pin<&mut Self>) -> bool {
        Plain::failed(self)
    }
}

/// A level's result that may hold the failure that stops the run.
pub trait TakeFailure {
    /// The failure, taken out, if this result is one.
    fn take_failure(&mut self) -> Option<StepError>;
}

impl<T> TakeFailure for Option<Result<T, Box<StepError>>> {
    #[inline]
    fn take_failure(&mut self) -> Option<StepError> {
        if !matches!(self, Some(Err(_))) {
            return None;
        }
        match self.take() {
            Some(Err(error)) => Some(*error),
            _ => None,
        }
    }
}

impl<T> TakeFailure for Option<Result<T, StepError>> {
    #[inline]
    fn take_failure(&mut self) -> Option<StepError> {
        // Looked at in place: a success (the usual case) is not moved.
        if !matches!(self, Some(Err(_))) {
            return None;
        }
        match self.take() {
            Some(Err(error)) => Some(error),
            _ => None,
        }
    }
}

pub use workflow_core::graph::{Ended, Status};

/// Whether a step's tool is idempotent, as a type: `workflow!` names `Idempotency::<{
/// <Tool as Tool>::IDEMPOTENT }>::RETRIED` at a step's `retry`, which is deprecated, and so
/// warns, for a tool that is not.
#[derive(Debug)]
pub struct Idempotency<const IDEMPOTENT: bool>;

impl Idempotency<true> {
    /// A retry of an idempotent tool.
    pub const RETRIED: () = ();
}

impl Idempotency<false> {
    /// A retry of a tool that is not idempotent.
    #[deprecated(
        note = "this step retries a tool marked `#[tool(idempotent = false)]`: a retry may repeat what the failed call did; make the tool idempotent, or remove `retry`"
    )]
    pub const RETRIED: () = ();
}
pub use workflow_core::model::Trigger;

/// What stops a run from outside ([`RunContext::stop_signal`]): a future that ends with the
/// run's error when its deadline passes or its cancellation token is cancelled, and never ends
/// for a run with neither (at no cost: it allocates only for a run that has one).
pub struct StopSignal {
    inner: Option<std::pin::Pin<Box<dyn Future<Output = StepError> + Send>>>,
}

impl StopSignal {
    fn new(
        deadline: Option<std::time::Duration>,
        token: Option<tokio_util::sync::CancellationToken>,
    ) -> Self {
        if deadline.is_none() && token.is_none() {
            return Self { inner: None };
        }
        let signal = async move {
            let cancelled = async {
                match &token {
                    Some(token) => token.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let expired = async {
                match deadline {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = cancelled => StepError::Cancelled,
                () = expired => StepError::RunDeadlineExceeded(deadline.unwrap_or_default()),
            }
        };
        Self { inner: Some(Box::pin(signal)) }
    }
}

impl Future for StopSignal {
    type Output = StepError;

    #[inline]
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<StepError> {
        match &mut self.inner {
            None => std::task::Poll::Pending,
            Some(signal) => signal.as_mut().poll(cx),
        }
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopSignal").field("armed", &self.inner.is_some()).finish()
    }
}

/// Polls a run's stop signal from a compiled workflow's level, while `armed` (the run is not
/// stopping already).
#[inline]
pub fn poll_stop(armed: bool, signal: &mut StopSignal, cx: &mut std::task::Context<'_>) -> Option<StepError> {
    if !armed || signal.inner.is_none() {
        return None;
    }
    match std::pin::Pin::new(signal).poll(cx) {
        std::task::Poll::Ready(error) => Some(error),
        std::task::Poll::Pending => None,
    }
}

pin_project_lite::pin_project! {
    /// A step of a compiled workflow's eager schedule: not started (the closure that starts
    /// it, once what it needs is there), running, or done with its result taken.
    #[project = LazyProj]
    #[project_replace = LazyReplace]
    #[allow(missing_docs)] // (the fields, which the macro cannot document; the variants say)
    pub enum Lazy<S, F> {
        /// Waiting for what it needs; `start` makes the step's future from it (`None` if it
        /// is not there).
        Waiting { start: S },
        /// Running `future`.
        Running { #[pin] future: F },
        /// Ended; its result was taken.
        Ended,
    }
}

impl<S, F> Lazy<S, F> {
    /// A step of a workflow with trigger rules, to start later with the trigger rule's verdict.
    pub fn admitted<A>(start: S) -> Self
    where
        S: FnOnce(A) -> F,
    {
        Lazy::Waiting { start }
    }

    /// Whether it has started.
    pub fn started(&self) -> bool {
        !matches!(self, Lazy::Waiting { .. })
    }

    /// Cancels the step if it is running (its future is dropped): `true` if it was.
    pub fn cancel(self: std::pin::Pin<&mut Self>) -> bool {
        let mut this = self;
        if !matches!(this.as_mut().project(), LazyProj::Running { .. }) {
            return false;
        }
        this.project_replace(Lazy::Ended);
        true
    }

    /// Starts a waiting step of a workflow with trigger rules with `admit`, the trigger rule's
    /// verdict, without polling it.
    pub fn start_admitted<A>(self: std::pin::Pin<&mut Self>, admit: A)
    where
        S: FnOnce(A) -> F,
    {
        let mut this = self;
        if !matches!(this.as_mut().project(), LazyProj::Waiting { .. }) {
            return;
        }
        if let LazyReplace::Waiting { start } = this.as_mut().project_replace(Lazy::Ended) {
            let future = start(admit);
            this.project_replace(Lazy::Running { future });
        }
    }

    /// Polls a step of a workflow with trigger rules, starting it first (with `admit()`, the
    /// trigger rule's verdict, which its start reads) if it is waiting: its output once, when
    /// it ends, then `Ready(None)`.
    pub fn poll_admitted<A>(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        admit: impl FnOnce() -> A,
    ) -> std::task::Poll<Option<F::Output>>
    where
        S: FnOnce(A) -> F,
        F: Future,
    {
        use std::task::Poll;
        if let LazyProj::Waiting { .. } = self.as_mut().project() {
            let LazyReplace::Waiting { start } = self.as_mut().project_replace(Lazy::Ended) else {
                return Poll::Ready(None);
            };
            let future = start(admit());
            self.as_mut().project_replace(Lazy::Running { future });
        }
        match self.as_mut().project() {
            LazyProj::Running { future } => match future.poll(cx) {
                Poll::Ready(output) => {
                    self.project_replace(Lazy::Ended);
                    Poll::Ready(Some(output))
                }
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}

impl<S, F, T> Lazy<S, F>
where
    S: FnOnce() -> Option<F>,
    F: Future<Output = Result<T, StepError>>,
{
    /// A step to start later.
    pub fn new(start: S) -> Self {
        Lazy::Waiting { start }
    }
    /// Polls the step, starting it first if it is waiting: its result once, when it ends, then
    /// `Ready(None)`. A step whose inputs were not there when it started fails with an engine
    /// error.
    pub fn poll_step(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<T, StepError>>> {
        use std::task::Poll;
        if let LazyProj::Waiting { .. } = self.as_mut().project() {
            let LazyReplace::Waiting { start } = self.as_mut().project_replace(Lazy::Ended) else {
                return Poll::Ready(None);
            };
            match start() {
                Some(future) => self.as_mut().project_replace(Lazy::Running { future }),
                None => return Poll::Ready(Some(Err(never_ran()))),
            };
        }
        match self.as_mut().project() {
            LazyProj::Running { future } => match future.poll(cx) {
                Poll::Ready(result) => {
                    self.project_replace(Lazy::Ended);
                    Poll::Ready(Some(result))
                }
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}
pub use workflow_core::policy::COMPENSATION_RETRY;

/// The error of a step that should have run and has no output (a compiled workflow's run that
/// ended with a step neither run nor stopped: a bug in the engine, reported instead of a panic).
pub fn never_ran() -> StepError {
    StepError::Template { parameter: "run".to_owned(), reason: "the step did not run".to_owned() }
}

/// How a step ended, from its record, for the eager schedule's trigger rules.
pub fn status_of(record: &StepRecord) -> Status {
    Status { ended: record.status.ended().unwrap_or(Ended::Skipped), timed_out: record.timed_out }
}

/// The trigger rule of the eager schedule: `None` if the step runs, otherwise why it does not
/// (with `names` the steps' ids, and `stopping` why the run is stopping, if it is). Every step
/// it needs has ended when it is asked ([`all_ended`]).
pub fn admit_eager(
    needs: &[usize],
    after: Option<(usize, Trigger)>,
    any_end: &[usize],
    statuses: &[&std::sync::OnceLock<Status>],
    names: &[&str],
    stopping: Option<&str>,
) -> Option<String> {
    let ended = |n: usize| statuses.get(n).and_then(|s| s.get()).map_or(Ended::Skipped, |s| s.ended);
    match workflow_core::graph::admit(needs, after, any_end, ended, stopping.is_some()) {
        workflow_core::graph::Admit::Run => None,
        workflow_core::graph::Admit::Stopping => Some(stopping.unwrap_or("the run is stopping").to_owned()),
        admit @ workflow_core::graph::Admit::Skip { because, .. } => {
            Some(admit.reason(names.get(because).copied().unwrap_or("?")))
        }
    }
}

/// Whether every step of `needs` has ended (has a status), for the eager schedule.
pub fn all_ended(needs: &[usize], statuses: &[&std::sync::OnceLock<Status>]) -> bool {
    needs.iter().all(|&n| statuses.get(n).is_some_and(|s| s.get().is_some()))
}

/// A fallback's result as the step's, for `workflow!`: the fallback's tool `B` must give the
/// output of the step's tool `A` (rustc reports the mismatch at the fallback's tool).
pub fn fallback_output<A: crate::Tool, B: crate::Tool<Output = A::Output>>(
    result: Result<B::Output, crate::ToolError>,
) -> Result<A::Output, crate::ToolError> {
    result
}

/// Runs a workflow's body (compiled or run-time) inside its `tracing` span, with the step
/// driver's clock read once per poll, retry jitter drawn from `seed` when one is given, at most
/// `limit`'s permits of calls in flight ([`RunContext::with_max_concurrency`]) and, for a
/// journaled run ([`RunContext::with_journal`]), its journal; such a run returns once its end is
/// durable.
pub fn in_run_span<F: Future>(
    workflow: &str,
    seed: Option<u64>,
    limit: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    journal: Option<std::sync::Arc<journaled::JournalSlot>>,
    body: F,
) -> RunSpan<F> {
    let span = tracing::info_span!("workflow.run", workflow);
    let slot = journal.clone();
    RunSpan { body: clock::timed_with(body, seed, limit, journal).instrument(span), slot, ended: None }
}

pin_project_lite::pin_project! {
    /// A run's body in its span ([`in_run_span`]), polled in place; a journaled run's output is
    /// held (on the heap) until its end is durable.
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunSpan<F: Future> {
        #[pin]
        body: tracing::instrument::Instrumented<Timed<F>>,
        slot: Option<std::sync::Arc<journaled::JournalSlot>>,
        ended: Option<(Box<F::Output>, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>)>,
    }
}

impl<F: Future> Future for RunSpan<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        use std::task::Poll;
        let this = self.project();
        if this.ended.is_none() {
            let output = match this.body.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            };
            let Some(slot) = this.slot.take() else { return Poll::Ready(output) };
            let close: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                Box::pin(async move { slot.close().await });
            *this.ended = Some((Box::new(output), close));
        }
        match this.ended {
            Some((_, close)) => {
                if close.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            None => return Poll::Pending,
        }
        match this.ended.take() {
            Some((output, _)) => Poll::Ready(*output),
            None => Poll::Pending,
        }
    }
}
