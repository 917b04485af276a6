//! The short way through the step driver for a compiled workflow's plain steps.
//!
//! Most steps have no retries, no time limits, no fallback and no condition: they call their
//! tool once. [`Plain`] runs such a step of a level without the layers [`drive`](super::drive)
//! puts around a call (its `async` body, the retry loop, the timers), which cost more than the
//! call itself for a quick tool: it polls the tool's future under a panic guard and, when it
//! ends, writes the step's record and keeps the result for the level.
//!
//! It takes the short way only when the run allows it ([`clock::plain`](super::clock::plain):
//! no journal, no limit on calls in flight); the step's `workflow.step` span, when a subscriber
//! takes it, is entered around each poll of the call, as [`drive`](super::drive) does.
//! Otherwise, and for a step whose spec has a policy after all, it runs the step's full path on
//! the heap (the journal's replay and record around [`drive`](super::drive)), so that what a
//! step does is decided by the one driver either way.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::driver::{StepSpec, panicked};
use super::record::StepRecord;
use crate::error::{StepError, ToolError};
use crate::tool::Tool;

pin_project_lite::pin_project! {
    /// A plain step of a compiled workflow's level, made by `workflow!` from the step's
    /// arguments (`args`, which builds them) and its tool's call (`call`).
    #[must_use = "futures do nothing unless polled"]
    #[project = PlainProj]
    pub struct Plain<'r, F, T> {
        spec: &'r StepSpec,
        // The step's record, written here when the step goes the short way (the full path
        // writes it otherwise).
        record: Option<&'r mut StepRecord>,
        // The result, once the step has ended (its call is then left as it is, to be dropped
        // with the step).
        output: Option<Result<T, Box<StepError>>>,
        #[pin]
        state: State<'r, F, T>,
    }
}

/// The full path of a step: journaled or limited, on the heap.
type FullPath<'r, T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'r>>;

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<'r, F, T> {
        // The tool's call, not polled yet (`started` is false) or running, in the step's span
        // when a subscriber takes it.
        // (On the heap: a step without a subscriber carries only a null pointer.)
        Fast { #[pin] call: F, started: bool, span: Option<Box<tracing::Span>> },
        // Its arguments could not be made: the step fails when it is first polled.
        Refused { error: Box<StepError> },
        Full { call: FullPath<'r, T> },
        Taken,
    }
}

impl<'r, F, T> Plain<'r, F, T>
where
    F: Future<Output = Result<T, ToolError>> + Send + 'r,
    T: Serialize + DeserializeOwned + Send + 'r,
{
    /// The step `spec`, whose record is `record`: its arguments made by `args` and its tool
    /// called with them by `call`, the short way when the run allows it, otherwise through the
    /// full path. Both are made here (in the poll that starts the step's level) and polled by
    /// [`poll_step`](Self::poll_step); a panic in either fails the step.
    #[inline]
    pub fn new<A, M, C>(spec: &'r StepSpec, record: &'r mut StepRecord, args: M, call: C) -> Self
    where
        A: Tool<Output = T>,
        M: FnOnce() -> Result<A, StepError>,
        C: FnOnce(A) -> F + Send + 'r,
    {
        if !(super::clock::plain() && spec.is_plain()) {
            let args =
                catch_unwind(AssertUnwindSafe(args)).unwrap_or_else(|panic| Err(panicked(spec, &*panic)));
            return Self::full(spec, record, args, call);
        }
        let state = match catch_unwind(AssertUnwindSafe(|| args().map(call))) {
            Ok(Ok(call)) => State::Fast { call, started: false, span: span(spec) },
            Ok(Err(error)) => State::Refused { error: Box::new(error) },
            Err(panic) => State::Refused { error: Box::new(panicked(spec, &*panic)) },
        };
        Self { spec, record: Some(record), output: None, state }
    }

    /// The step through its full path.
    #[cold]
    #[inline(never)]
    fn full<A, C>(spec: &'r StepSpec, record: &'r mut StepRecord, args: Result<A, StepError>, call: C) -> Self
    where
        A: Tool<Output = T>,
        C: FnOnce(A) -> F + Send + 'r,
    {
        let call = Box::pin(full_path(spec, record, args, call));
        Self { spec, record: None, output: None, state: State::Full { call } }
    }

    /// Polls the step: `Ready` once it has ended (its result is then kept for
    /// [`take_output`](Self::take_output)).
    #[inline]
    pub fn poll_step(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.output.is_some() {
            return Poll::Ready(());
        }
        let result = match this.state.as_mut().project() {
            StateProj::Fast { call, started, span } => {
                if !*started {
                    *started = true;
                    if let Some(record) = this.record.as_deref_mut() {
                        record.started = Some(super::clock::now());
                    }
                }
                let polled = match span {
                    None => catch_unwind(AssertUnwindSafe(|| call.poll(cx))),
                    Some(span) => {
                        let _entered = span.enter();
                        catch_unwind(AssertUnwindSafe(|| call.poll(cx)))
                    }
                };
                if span.is_some() && matches!(polled, Ok(Poll::Ready(_))) {
                    // The step has ended: its span closes.
                    *span = None;
                }
                match polled {
                    Ok(Poll::Pending) => {
                        super::clock::fresh();
                        return Poll::Pending;
                    }
                    Ok(Poll::Ready(Ok(output))) => Ok(output),
                    Ok(Poll::Ready(Err(source))) => Err(tool_failed(this.spec, source)),
                    Err(panic) => Err(Box::new(panicked(this.spec, &*panic))),
                }
            }
            StateProj::Refused { .. } => {
                if let Some(record) = this.record.as_deref_mut() {
                    record.started = Some(super::clock::now());
                }
                match this.state.as_mut().project_replace(State::Taken) {
                    StateReplace::Refused { error } => Err(error),
                    _ => return Poll::Ready(()),
                }
            }
            StateProj::Full { call } => {
                let Poll::Ready(output) = call.as_mut().poll(cx) else { return Poll::Pending };
                *this.output = Some(output.map_err(Box::new));
                return Poll::Ready(());
            }
            StateProj::Taken => return Poll::Ready(()),
        };
        let finished = super::clock::fresh();
        if let Some(record) = this.record.as_deref_mut() {
            record.called_once(finished, &result);
        }
        *this.output = Some(result);
        Poll::Ready(())
    }

    /// The step's result, once it has ended: `None` before, or once taken.
    #[inline]
    pub fn take_output(self: Pin<&mut Self>) -> Option<Result<T, Box<StepError>>> {
        self.project().output.take()
    }

    /// Whether the step ended with an error.
    #[inline]
    pub fn failed(self: Pin<&mut Self>) -> bool {
        matches!(self.project().output, Some(Err(_)))
    }
}

/// A plain step of an eager schedule, polled as a future: its result once it has ended.
impl<'r, F, T> Future for Plain<'r, F, T>
where
    F: Future<Output = Result<T, ToolError>> + Send + 'r,
    T: Serialize + DeserializeOwned + Send + 'r,
{
    type Output = Result<T, StepError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.as_mut().poll_step(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(match self.take_output() {
            Some(result) => result.map_err(|error| *error),
            None => Err(super::never_ran()),
        })
    }
}

/// A step the long way, as `workflow!` writes the function of a step that has a policy: the
/// journal's replay and record around the driver.
async fn full_path<A, C, F>(
    spec: &StepSpec,
    record: &mut StepRecord,
    args: Result<A, StepError>,
    call: C,
) -> Result<A::Output, StepError>
where
    A: Tool,
    C: FnOnce(A) -> F,
    F: Future<Output = Result<A::Output, ToolError>>,
{
    use super::journaled::{Replayed, replay};
    let journal = match replay::<A::Output>(spec, record, A::IDEMPOTENT) {
        Replayed::Done(outcome) => return outcome,
        Replayed::Run(journal) => journal,
    };
    if let Some(journal) = &journal {
        if let Err(error) = journal.started(A::IDEMPOTENT).await {
            return super::fail(record, error);
        }
    }
    let json = args.as_ref().ok().map(Tool::arguments_json);
    let mut once = Some((args, call));
    let outcome = super::drive(spec, record, move || {
        let taken = once.take();
        async move {
            match taken {
                Some((Ok(args), call)) => call(args).await.map_err(|source| *tool_failed(spec, source)),
                Some((Err(error), _)) => Err(error),
                None => Err(super::never_ran()),
            }
        }
    })
    .await;
    match journal {
        Some(journal) => journal.settle(record, outcome, json).await,
        None => outcome,
    }
}

/// The step's `workflow.step` span, when a subscriber takes `INFO`.
#[inline]
fn span(spec: &StepSpec) -> Option<Box<tracing::Span>> {
    if tracing::level_enabled!(tracing::Level::INFO) { spanned(spec) } else { None }
}

#[cold]
fn spanned(spec: &StepSpec) -> Option<Box<tracing::Span>> {
    super::driver::enabled(super::driver::step_span(spec)).map(Box::new)
}

/// The step error of a tool's failure.
#[cold]
fn tool_failed(spec: &StepSpec, source: ToolError) -> Box<StepError> {
    Box::new(StepError::Tool { tool: spec.tool.clone(), source: source.scrubbed() })
}
