//! The step driver's clock: one reading per step instead of two.
//!
//! A run is polled inside [`timed`], which reads the clock once per poll. A step starts at the
//! latest reading of the poll and ends at a fresh one ([`fresh`]), which the next step of the
//! poll starts from; a step that yields reads the clock too ([`Fresh`]). So a tool that computes
//! without yielding is recorded as taking the time it took, the steps polled one after another
//! in a poll get starts that follow each other, and a quick step costs one reading of the clock.
//!
//! Wall-clock times ([`wall`]) are never read per step: a run reads `SystemTime` once, at its
//! first poll, and every later wall-clock time is that reading plus the time elapsed on tokio's
//! clock. Records of one run are therefore consistent with each other (and exact under tokio's
//! paused time), even if the system clock is adjusted during the run.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The readings a poll inside [`timed`] shares: the time of the poll, and the run's anchor
/// tying tokio's clock to the wall clock.
#[derive(Clone, Copy)]
struct Reading {
    now: Instant,
    anchor: Anchor,
}

/// One instant on tokio's clock and the wall-clock time read with it.
#[derive(Clone, Copy)]
struct Anchor {
    instant: Instant,
    wall: SystemTime,
}

impl Anchor {
    fn now() -> Self {
        Self { instant: Instant::now(), wall: SystemTime::now() }
    }

    fn wall(self, at: Instant) -> SystemTime {
        let wall = match at.checked_duration_since(self.instant) {
            Some(later) => self.wall.checked_add(later),
            None => self.wall.checked_sub(self.instant.saturating_duration_since(at)),
        };
        wall.unwrap_or(self.wall)
    }
}

thread_local! {
    static NOW: Cell<Option<Reading>> = const { Cell::new(None) };
    static JITTER: Cell<Option<Jitter>> = const { Cell::new(None) };
    /// The limit on calls in flight of the run being polled, if it has one.
    static LIMIT: std::cell::RefCell<Option<Arc<Semaphore>>> = const { std::cell::RefCell::new(None) };
    /// Whether `LIMIT` holds one: the one thing a step of a run without a limit reads.
    static LIMITED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the run being polled inside [`timed`] has a limit on calls in flight.
#[inline]
pub fn limited() -> bool {
    LIMITED.with(Cell::get)
}

/// The limit on calls in flight of the run being polled inside [`timed`], if it has one
/// ([`RunContext::with_max_concurrency`](super::RunContext::with_max_concurrency)).
#[inline]
pub fn call_limit() -> Option<Arc<Semaphore>> {
    if !LIMITED.with(Cell::get) {
        return None;
    }
    LIMIT.with(|limit| limit.borrow().clone())
}

/// The random source of a run's retry jitter: its seed (drawn from the operating system at the
/// first draw unless the run was given one) and how many draws it has made. Draw `n` is the first
/// number of a small generator seeded with `seed + n`, so a seed gives the same delays in the
/// same order, compiled or at run time.
#[derive(Clone, Copy, Debug, Default)]
struct Jitter {
    seed: Option<u64>,
    draws: u64,
}

/// A random fraction in `[0, 1)` for retry jitter: from the run's seeded source inside
/// [`timed`], otherwise from a generator seeded by the operating system.
pub fn jitter_fraction() -> f64 {
    use rand::{Rng as _, SeedableRng as _};
    let draw = |seed: u64| rand::rngs::SmallRng::seed_from_u64(seed).random::<f64>();
    let inside = JITTER.with(|cell| {
        let mut jitter = cell.get()?;
        let seed = *jitter.seed.get_or_insert_with(|| rand::rngs::SmallRng::from_os_rng().random());
        let fraction = draw(seed.wrapping_add(jitter.draws));
        jitter.draws += 1;
        cell.set(Some(jitter));
        Some(fraction)
    });
    inside.unwrap_or_else(|| rand::rngs::SmallRng::from_os_rng().random())
}

/// The time for a step record: the start of the current poll inside [`timed`], otherwise a
/// fresh reading of the clock.
#[inline]
pub fn now() -> Instant {
    NOW.with(Cell::get).map_or_else(Instant::now, |r| r.now)
}

/// The wall-clock time of `at`, an instant on tokio's clock: from the run's anchor inside
/// [`timed`] (no reading of the wall clock), otherwise from a fresh reading of both clocks.
#[inline]
pub fn wall(at: Instant) -> SystemTime {
    NOW.with(Cell::get).map_or_else(Anchor::now, |r| r.anchor).wall(at)
}

/// The time now, read from the clock, and kept for the rest of the current poll inside
/// [`timed`]: a step ends at a fresh reading (so a tool that computes for 50 ms without yielding
/// is recorded as taking 50 ms), and the step polled after it in the same poll starts there.
#[inline]
pub fn fresh() -> Instant {
    let now = Instant::now();
    NOW.with(|cell| {
        if let Some(reading) = cell.get() {
            cell.set(Some(Reading { now, ..reading }));
        }
    });
    now
}

pin_project_lite::pin_project! {
    /// A step's call, which reads the clock again when it yields ([`fresh`]), so that the step
    /// polled after it in the same poll does not start at a reading from before its work.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Fresh<F> {
        #[pin]
        inner: F,
    }
}

/// Wraps a step's call in [`Fresh`].
pub fn fresh_on_yield<F: Future>(inner: F) -> Fresh<F> {
    Fresh { inner }
}

impl<F: Future> Future for Fresh<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = self.project().inner.poll(cx);
        if polled.is_pending() {
            fresh();
        }
        polled
    }
}

/// Reads the clock again for the rest of the current poll inside [`timed`] (between the levels
/// of a run, so that each level's records start from a fresh reading).
pub fn tick() {
    NOW.with(|now| {
        if let Some(reading) = now.get() {
            now.set(Some(Reading { now: Instant::now(), ..reading }));
        }
    });
}

pin_project_lite::pin_project! {
    /// A future whose polls set the time [`now`] gives.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timed<F> {
        #[pin]
        inner: F,
        anchor: Option<Anchor>,
        jitter: Jitter,
        limit: Option<Arc<Semaphore>>,
        journal: Option<Arc<super::journaled::JournalSlot>>,
    }
}

/// Polls `inner` with the clock read once per poll.
pub fn timed<F: Future>(inner: F) -> Timed<F> {
    timed_with_seed(inner, None)
}

/// [`timed`], with the retry jitter drawn from `seed` when one is given.
pub fn timed_with_seed<F: Future>(inner: F, seed: Option<u64>) -> Timed<F> {
    timed_with(inner, seed, None, None)
}

/// [`timed_with_seed`], with at most `limit`'s permits of calls in flight, and the run's
/// `journal`.
pub fn timed_with<F: Future>(
    inner: F,
    seed: Option<u64>,
    limit: Option<Arc<Semaphore>>,
    journal: Option<Arc<super::journaled::JournalSlot>>,
) -> Timed<F> {
    Timed { inner, anchor: None, jitter: Jitter { seed, draws: 0 }, limit, journal }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let now = Instant::now();
        let anchor = *this.anchor.get_or_insert_with(|| Anchor { instant: now, wall: SystemTime::now() });
        let previous = NOW.with(|cell| cell.replace(Some(Reading { now, anchor })));
        let previous_jitter = JITTER.with(|cell| cell.replace(Some(*this.jitter)));
        // Only a run with a limit pays for it.
        let previous_limit = this
            .limit
            .as_ref()
            .map(|limit| (LIMIT.with(|l| l.replace(Some(limit.clone()))), LIMITED.with(|l| l.replace(true))));
        let journal = this.journal.as_ref().map(super::journaled::enter);
        let result = this.inner.poll(cx);
        drop(journal);
        if let Some((previous, limited)) = previous_limit {
            LIMIT.with(|l| *l.borrow_mut() = previous);
            LIMITED.with(|l| l.set(limited));
        }
        if let Some(jitter) = JITTER.with(|cell| cell.replace(previous_jitter)) {
            *this.jitter = jitter;
        }
        NOW.with(|cell| cell.set(previous));
        result
    }
}
