//! The short way through the step driver for a compiled workflow's plain steps.
//!
//! Most steps have no retries, no time limits, no fallback and no condition: they call their
//! tool once. [`Plain`] runs such a step of a level without the layers [`drive`](super::drive)
//! puts around a call (its `async` body, the retry loop, the span), which cost more than the
//! call itself for a quick tool: it polls the tool's future under a panic guard and, when it
//! ends, writes the step's record and keeps the result for the level.
//!
//! It takes the short way only when the run allows it ([`clock::plain`](super::clock::plain):
//! no journal, no limit on calls in flight, no subscriber taking the step spans). Otherwise, and
//! for a step whose spec has a policy after all, it runs the step's full path on the heap, so
//! that what a step does is decided by the one driver either way.

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
        #[pin]
        state: State<'r, F, T>,
    }
}

/// The full path of a step: journaled, limited or in its span, on the heap.
type FullPath<'r, T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'r>>;

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<'r, F, T> {
        // The tool's call, not polled yet (`started` is false) or running.
        Fast { #[pin] call: F, started: bool },
        // Its arguments could not be made: the step fails when it is first polled.
        Refused { error: Box<StepError> },
        Full { call: FullPath<'r, T> },
        Done { output: Result<T, Box<StepError>> },
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
            Ok(Ok(call)) => State::Fast { call, started: false },
            Ok(Err(error)) => State::Refused { error: Box::new(error) },
            Err(panic) => State::Refused { error: Box::new(panicked(spec, &*panic)) },
        };
        Self { spec, record: Some(record), state }
    }

    /// The step through its full path.
    #[cold]
    #[inline(never)]
    fn full<A, C>(spec: &'r StepSpec, record: &'r mut StepRecord, args: Result<A, StepError>, call: C) -> Self
    where
        A: Tool<Output = T>,
        C: FnOnce(A) -> F + Send + 'r,
    {
        Self {
            spec,
            record: None,
            state: State::Full { call: Box::pin(full_path(spec, record, args, call)) },
        }
    }

    /// Polls the step: `Ready` once it has ended (its result is then kept for
    /// [`take_output`](Self::take_output)).
    #[inline]
    pub fn poll_step(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let result = match this.state.as_mut().project() {
            StateProj::Fast { call, started } => {
                if !*started {
                    *started = true;
                    if let Some(record) = this.record.as_deref_mut() {
                        record.started = Some(super::clock::now());
                    }
                }
                match catch_unwind(AssertUnwindSafe(|| call.poll(cx))) {
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
                this.state.project_replace(State::Done { output: output.map_err(Box::new) });
                return Poll::Ready(());
            }
            StateProj::Done { .. } | StateProj::Taken => return Poll::Ready(()),
        };
        let finished = super::clock::fresh();
        if let Some(record) = this.record.as_deref_mut() {
            record.called_once(finished, &result);
        }
        this.state.project_replace(State::Done { output: result });
        Poll::Ready(())
    }

    /// The step's result, once it has ended: `None` before, or once taken.
    #[inline]
    pub fn take_output(self: Pin<&mut Self>) -> Option<Result<T, Box<StepError>>> {
        let mut this = self.project();
        if !matches!(this.state.as_mut().project(), StateProj::Done { .. }) {
            return None;
        }
        match this.state.project_replace(State::Taken) {
            StateReplace::Done { output } => Some(output),
            _ => None,
        }
    }

    /// Whether the step ended with an error.
    #[inline]
    pub fn failed(self: Pin<&mut Self>) -> bool {
        matches!(self.project().state.project(), StateProj::Done { output: Err(_) })
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

/// The step error of a tool's failure.
#[cold]
fn tool_failed(spec: &StepSpec, source: ToolError) -> Box<StepError> {
    Box::new(StepError::Tool { tool: spec.tool.clone(), source: source.scrubbed() })
}
