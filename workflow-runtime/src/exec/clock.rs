//! The step driver's clock: one reading per poll of a level instead of two per step.
//!
//! A run is polled inside [`timed`], which reads the clock once per poll, and the run calls
//! [`tick`] between levels; the steps that start or finish during a poll of their level take
//! that reading. A step that waits on
//! I/O finishes in a later poll, which reads the clock again when it is woken, so records stay
//! as accurate as the wake-ups that drive them, at a fraction of the cost for quick steps.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;

thread_local! {
    static NOW: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The time for a step record: the start of the current poll inside [`timed`], otherwise a
/// fresh reading of the clock.
pub fn now() -> Instant {
    NOW.with(Cell::get).unwrap_or_else(Instant::now)
}

/// Reads the clock again for the rest of the current poll inside [`timed`] (between the levels
/// of a run, so that each level's records start from a fresh reading).
pub fn tick() {
    NOW.with(|now| {
        if now.get().is_some() {
            now.set(Some(Instant::now()));
        }
    });
}

pin_project_lite::pin_project! {
    /// A future whose polls set the time [`now`] gives.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timed<F> {
        #[pin]
        inner: F,
    }
}

/// Polls `inner` with the clock read once per poll.
pub fn timed<F: Future>(inner: F) -> Timed<F> {
    Timed { inner }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let previous = NOW.with(|now| now.replace(Some(Instant::now())));
        let result = self.project().inner.poll(cx);
        NOW.with(|now| now.set(previous));
        result
    }
}
