//! The step driver: every step of every workflow runs through [`drive`].
//!
//! It opens the step's `tracing` span, calls the tool (again, per the retry policy), applies
//! the timeout, turns a panic into a failed step and writes the [`StepRecord`].

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::record::{Attempt, Attempts, StepRecord, StepStatus};
use crate::error::{StepError, ToolError};

pub use workflow_core::policy::RetryPolicy;

/// The delay before retry number `retry` (from 1): the policy's, and with `jitter` a random
/// delay between zero and it ("full jitter"), from the run's seeded source
/// ([`RunContext::with_jitter_seed`](super::RunContext::with_jitter_seed)).
fn delay(policy: &RetryPolicy, retry: u32) -> Duration {
    let delay = policy.delay(retry);
    if policy.jitter { delay.mul_f64(super::clock::jitter_fraction()) } else { delay }
}

/// What the driver needs to know about a step, fixed when the workflow is built.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    /// The step's id.
    pub id: Cow<'static, str>,
    /// The tool's name.
    pub tool: Cow<'static, str>,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// The time limit of each attempt.
    pub timeout: Option<Duration>,
    /// The time limit of the whole step: every attempt and the waits between them.
    pub deadline: Option<Duration>,
    /// The error classes retried (`retry N on timeout, rate_limited`); every retryable error
    /// when empty.
    pub retry_on: Cow<'static, [Cow<'static, str>]>,
}

impl StepSpec {
    /// Whether the retry policy may call again after `error`: a retryable error, of a class the
    /// step retries.
    pub fn retries(&self, error: &StepError) -> bool {
        error.is_retryable()
            && (self.retry_on.is_empty()
                || error.class().is_some_and(|c| self.retry_on.iter().any(|r| r == c)))
    }
}

impl StepSpec {
    /// Whether the step calls its tool once, with no time limit: no retries, no `timeout`, no
    /// `deadline`.
    #[inline]
    pub const fn is_plain(&self) -> bool {
        self.retry.retries == 0 && self.timeout.is_none() && self.deadline.is_none()
    }

    /// A step with no retries and no timeout.
    pub const fn new(id: &'static str, tool: &'static str) -> Self {
        Self {
            id: Cow::Borrowed(id),
            tool: Cow::Borrowed(tool),
            retry: RetryPolicy::NONE,
            timeout: None,
            deadline: None,
            retry_on: Cow::Borrowed(&[]),
        }
    }
}

/// A step's record and its result, for callers that keep records by value.
pub type StepOutcome<T> = (StepRecord, Result<T, StepError>);

/// Runs one step: calls `attempt` until it succeeds or the retry policy gives up, and writes
/// what happened into `record` (kept in place, so that a run's records are never moved around).
///
/// `attempt` builds the tool's arguments and calls it; a panic inside it fails the step with
/// [`StepError::Panicked`] and never unwinds further.
pub async fn drive<T, F, Fut>(
    spec: &StepSpec,
    record: &mut StepRecord,
    mut attempt: F,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let span = step_span(spec);
    let started = super::clock::now();
    record.started = Some(started);
    let result = if spec.is_plain() {
        // The usual step: called once, with no time limit. It takes the short way, without the
        // retry loop and the timer, and without entering a span no subscriber wants.
        let call = super::clock::fresh_on_yield(AssertUnwindSafe(async { attempt().await }).catch_unwind());
        let result = if super::clock::limited() || super::journaled::journaled() {
            // On the heap: a run with a limit on calls in flight waits for a place first, and a
            // journaled run gives the call its idempotency key.
            let call = limited_or_not(call.instrument(span));
            match super::journaled::key_of(&spec.id, None) {
                Some(key) => Box::pin(super::journaled::keyed(key, call)).await,
                None => Box::pin(call).await,
            }
        } else {
            match enabled(span) {
                None => call.await,
                Some(span) => call.instrument(span).await,
            }
        };
        let finished = super::clock::fresh();
        let result = result.unwrap_or_else(|panic| Err(panicked(spec, &*panic)));
        let error = result.as_ref().err().map(ToString::to_string);
        record.attempts.push(Attempt { started, finished, error });
        result
    } else {
        // On the heap: the loop, its timers and the deadline would otherwise make every step's
        // future larger, and step futures are moved as their level is joined.
        Box::pin(with_policy(spec, &mut record.attempts, started, attempt).instrument(span)).await
    };
    record.timed_out = matches!(result, Err(StepError::TimedOut(_) | StepError::DeadlineExceeded(_)));
    // The step ends with its last attempt.
    let last = record.attempts.last();
    record.finished = last.map(|a| a.finished);
    match &result {
        Ok(_) => record.status = StepStatus::Succeeded,
        // The deadline may pass between attempts: the step ends then, with that error.
        Err(error @ StepError::DeadlineExceeded(_)) => {
            record.status = StepStatus::Failed;
            record.finished = Some(super::clock::fresh());
            record.error = Some(error.to_string());
        }
        Err(_) => {
            record.status = StepStatus::Failed;
            record.error = last.and_then(|a| a.error.clone());
        }
    }
    result
}

/// The `workflow.step` span of a step (the one place it is made, so that every step's span has
/// the same callsite).
#[inline]
pub(super) fn step_span(spec: &StepSpec) -> tracing::Span {
    tracing::info_span!("workflow.step", step = %spec.id, tool = %spec.tool)
}

/// The span, if a subscriber wants it. Taking it by value keeps a disabled span out of the
/// step's future.
pub(super) fn enabled(span: tracing::Span) -> Option<tracing::Span> {
    (!span.is_disabled()).then_some(span)
}

/// The calls of the tool under the step's retry policy, timeout and deadline, each recorded.
async fn with_policy<T, F, Fut>(
    spec: &StepSpec,
    attempts: &mut Attempts,
    started: Instant,
    attempt: F,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let mut in_flight = None;
    let calls = retry_loop(spec, attempts, &mut in_flight, started, attempt);
    let result = match spec.deadline {
        None => calls.await,
        Some(limit) => {
            tokio::time::timeout(limit, calls).await.unwrap_or(Err(StepError::DeadlineExceeded(limit)))
        }
    };
    // A call that the deadline cut short is an attempt too, failed by the deadline.
    if let (Err(error @ StepError::DeadlineExceeded(_)), Some(begun)) = (&result, in_flight) {
        let error = Some(error.to_string());
        attempts.push(Attempt { started: begun, finished: super::clock::fresh(), error });
    }
    result
}

/// The calls of the tool under the step's retry policy and timeout, each recorded; `in_flight`
/// holds the start of a call not yet recorded, for a deadline that cuts it short.
async fn retry_loop<T, F, Fut>(
    spec: &StepSpec,
    attempts: &mut Attempts,
    in_flight: &mut Option<Instant>,
    started: Instant,
    mut attempt: F,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let mut begun = started;
    let key = super::journaled::key_of(&spec.id, None);
    loop {
        *in_flight = Some(begun);
        let call = super::clock::fresh_on_yield(AssertUnwindSafe(async { attempt().await }).catch_unwind());
        let call = keyed_or_not(key.clone(), limited_or_not(call));
        let result = match spec.timeout {
            None => call.await,
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result,
                Err(_) => Ok(Err(StepError::TimedOut(limit))),
            },
        };
        let finished = super::clock::fresh();
        let result = result.unwrap_or_else(|panic| Err(panicked(spec, &*panic)));
        let error = result.as_ref().err().map(ToString::to_string);
        attempts.push(Attempt { started: begun, finished, error });
        *in_flight = None;
        let tries = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
        match result {
            Err(err) if tries <= spec.retry.retries && spec.retries(&err) => {
                tracing::warn!(attempt = tries, error = %err, "step failed; retrying");
                tokio::time::sleep(delay(&spec.retry, tries)).await;
                begun = super::clock::now();
            }
            other => break other,
        }
    }
}

/// `call`, after waiting for a place under the run's limit on calls in flight.
async fn limited<F: Future>(limit: std::sync::Arc<tokio::sync::Semaphore>, call: F) -> F::Output {
    // A closed semaphore (never closed here) would mean no limit.
    let _place = limit.acquire_owned().await.ok();
    call.await
}

/// `call`, polled with its idempotency key when it has one.
async fn keyed_or_not<F: Future>(key: Option<std::sync::Arc<str>>, call: F) -> F::Output {
    match key {
        None => call.await,
        Some(key) => super::journaled::keyed(key, call).await,
    }
}

/// `call`, limited when the run has a limit on calls in flight.
async fn limited_or_not<F: Future>(call: F) -> F::Output {
    match super::clock::call_limit() {
        None => call.await,
        Some(limit) => limited(limit, call).await,
    }
}

#[cold]
pub(super) fn panicked(spec: &StepSpec, panic: &(dyn Any + Send)) -> StepError {
    StepError::Panicked { tool: spec.tool.clone(), message: panic_message(panic) }
}

/// After a step failed for good (its retries spent): its fallback, called once within the step's
/// timeout, whose output takes the step's place. The call is recorded as the step's last
/// attempt, and a success marks the record [`fallback`](StepRecord::fallback). An engine error
/// ([`StepError::is_engine`]) is passed on without calling the fallback.
pub async fn fall_back<T, Fut>(
    spec: &StepSpec,
    tool: &'static str,
    record: &mut StepRecord,
    result: Result<T, StepError>,
    fallback: impl FnOnce() -> Fut,
) -> Result<T, StepError>
where
    Fut: Future<Output = Result<T, StepError>>,
{
    let failure = match result {
        Err(error) if !error.is_engine() => error,
        done => return done,
    };
    fall_back_after(spec, Cow::Borrowed(tool), record, failure, fallback).await
}

/// [`fall_back`] for a fallback tool named at run time.
pub(crate) async fn fall_back_after<T, Fut>(
    spec: &StepSpec,
    tool: Cow<'static, str>,
    record: &mut StepRecord,
    failure: StepError,
    fallback: impl FnOnce() -> Fut,
) -> Result<T, StepError>
where
    Fut: Future<Output = Result<T, StepError>>,
{
    tracing::warn!(step = %spec.id, error = %failure, fallback = %tool, "step failed; calling its fallback");
    let started = super::clock::now();
    let call = AssertUnwindSafe(async { fallback().await }).catch_unwind();
    let result = match spec.timeout {
        None => call.await,
        Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or(Ok(Err(StepError::TimedOut(limit)))),
    };
    let result = result.unwrap_or_else(|panic| {
        Err(StepError::Panicked { tool: tool.clone(), message: panic_message(&*panic) })
    });
    let finished = super::clock::fresh();
    let error = result.as_ref().err().map(ToString::to_string);
    record.attempts.push(Attempt { started, finished, error });
    record.finished = Some(finished);
    match &result {
        Ok(_) => {
            record.status = StepStatus::Succeeded;
            record.fallback = true;
            record.timed_out = false;
            record.error = None;
        }
        Err(error) => {
            record.status = StepStatus::Failed;
            record.timed_out = matches!(error, StepError::TimedOut(_));
            record.error = Some(format!("{failure}; then its fallback `{tool}` failed: {error}"));
        }
    }
    result
}

/// Runs a `for item in …` step: `count` calls (`call(i)` makes item `i`'s attempts), each
/// through the step's retry policy and timeout, at most `max` at once, their outputs in the
/// order of the items (`None` for a failed call). In a journaled run each call is journaled on
/// its own (its tool `idempotent` or not, its arguments `args(i)`), so that a resumed run calls
/// again only those that did not succeed. The step fails once more than `tolerate`
/// calls have failed, and the calls still in flight are then cancelled. Every call's attempts go
/// into `record`; the failures tolerated are listed in its `error`.
#[allow(clippy::too_many_arguments)]
pub async fn fan_out<T, F, G, Fut>(
    spec: &StepSpec,
    record: &mut StepRecord,
    count: usize,
    max: Option<usize>,
    tolerate: usize,
    idempotent: bool,
    call: F,
    args: impl Fn(usize) -> Option<serde_json::Value>,
) -> Result<Vec<Option<T>>, StepError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send,
    F: Fn(usize) -> G,
    G: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    use futures::StreamExt as _;
    record.started = Some(super::clock::now());
    let (call, args) = (&call, &args);
    let calls = futures::stream::iter(0..count).map(|i| {
        // Each call of a journaled run has a key of its own, the step's and the item's index,
        // and is journaled as the step `<step>/<i>`.
        let key = super::journaled::key_of(&spec.id, Some(i));
        let mut attempt = call(i);
        async move {
            use super::journaled::Replayed;
            let mut item = StepRecord::pending(spec.id.clone(), spec.tool.clone());
            let journal = match super::journaled::replay_item::<T>(spec, i, &mut item, idempotent) {
                Replayed::Done(result) => return (item, result),
                Replayed::Run(journal) => journal,
            };
            if let Some(journal) = &journal {
                if let Err(error) = journal.started(idempotent).await {
                    let result = super::fail(&mut item, error);
                    return (item, result);
                }
            }
            let result = drive(spec, &mut item, move || keyed_or_not(key.clone(), attempt())).await;
            let result = match journal {
                Some(journal) => journal.settle(&mut item, result, args(i)).await,
                None => result,
            };
            (item, result)
        }
    });
    let mut calls = std::pin::pin!(calls.buffered(max.unwrap_or(count).max(1)));
    let mut outputs = Vec::with_capacity(count);
    let mut failures: Vec<(usize, StepError)> = Vec::new();
    while let Some((item, result)) = calls.next().await {
        item.attempts.iter().for_each(|a| record.attempts.push(a.clone()));
        match result {
            Ok(output) => outputs.push(Some(output)),
            Err(error) => {
                let engine = error.is_engine();
                failures.push((outputs.len(), error));
                outputs.push(None);
                if engine || failures.len() > tolerate {
                    break;
                }
            }
        }
    }
    record.finished = Some(super::clock::fresh());
    let listed: Vec<String> = failures.iter().map(|(i, e)| format!("item {i}: {e}")).collect();
    if failures.len() <= tolerate && !failures.iter().any(|(_, e)| e.is_engine()) {
        record.status = StepStatus::Succeeded;
        if !failures.is_empty() {
            record.error = Some(format!(
                "{} of {count} calls failed (tolerated): {}",
                failures.len(),
                listed.join("; ")
            ));
        }
        return Ok(outputs);
    }
    record.status = StepStatus::Failed;
    record.error = Some(listed.join("; "));
    let failed = failures.len();
    let (first_item, first) = failures.swap_remove(0);
    if first.is_engine() {
        return Err(first);
    }
    Err(StepError::TooManyFailures { failed, total: count, tolerate, first_item, first: Box::new(first) })
}

/// [`fan_out`] for a step without `tolerate`: every call succeeded, so every output is there.
pub fn all_items<T>(result: Result<Vec<Option<T>>, StepError>) -> Result<Vec<T>, StepError> {
    result.map(|outputs| outputs.into_iter().flatten().collect())
}

/// [`drive`] with a record of its own, returned with the result.
pub async fn drive_owned<T, F, Fut>(spec: &StepSpec, attempt: F) -> StepOutcome<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let mut record = StepRecord::pending(spec.id.clone(), spec.tool.clone());
    let result = drive(spec, &mut record, attempt).await;
    (record, result)
}

/// Wraps a tool's error as a step error.
pub fn tool_error(tool: &'static str) -> impl FnOnce(ToolError) -> StepError {
    move |source| StepError::Tool { tool: Cow::Borrowed(tool), source: source.scrubbed() }
}

/// A panic's message (when its payload is text), with the secrets seen scrubbed from it.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = panic.downcast_ref::<&str>() {
        crate::secret::scrub(s)
    } else if let Some(s) = panic.downcast_ref::<String>() {
        crate::secret::scrub(s)
    } else {
        Cow::Borrowed("a panic with a non-string payload")
    };
    text.into_owned()
}
