//! The step driver's clock: one reading per step instead of two, and a cheap one.
//!
//! A run is polled inside [`timed`], which reads the clock once per poll. A step starts at the
//! latest reading of the poll and ends at a fresh one ([`fresh`]), which the next step of the
//! poll starts from; a step that yields reads the clock too ([`Fresh`]). So a tool that computes
//! without yielding is recorded as taking the time it took, the steps polled one after another
//! in a poll get starts that follow each other, and a quick step costs one reading of the clock.
//!
//! That reading is the processor's counter where it has a steady one (the TSC on x86-64, the
//! system counter on AArch64, through [`quanta`]): about 10 ns, against 25 ns for the
//! operating system's clock. The poll ties it to tokio's clock: a fresh reading is the poll's
//! instant plus the counter's ticks since, in nanoseconds. When tokio's clock is paused (tests
//! with `start_paused`), or before the counter is calibrated (once per process, on a thread of
//! its own, in at most 200 ms), a fresh reading is tokio's own, so paused time stays exact.
//!
//! Wall-clock times ([`wall`]) are never read per step: a run reads `SystemTime` once, at its
//! first poll, and every later wall-clock time is that reading plus the time elapsed on tokio's
//! clock. Records of one run are therefore consistent with each other (and exact under tokio's
//! paused time), even if the system clock is adjusted during the run.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The counter read at `at`, an instant on tokio's clock, at the start of a poll inside
/// [`timed`]: a later reading of the counter is `at` plus the nanoseconds between the two.
#[derive(Clone, Copy)]
struct Counter {
    at: Instant,
    raw: u64,
    clock: &'static quanta::Clock,
}

impl Counter {
    /// The time now, from the counter.
    #[inline]
    fn now(self) -> Instant {
        let elapsed = Duration::from_nanos(self.clock.delta_as_nanos(self.raw, self.clock.raw()));
        self.at.checked_add(elapsed).unwrap_or(self.at)
    }
}

/// Whether fresh readings inside [`timed`] come from the processor's counter: it has been
/// calibrated (the first run starts the calibration). For tests of both kinds of readings.
#[doc(hidden)]
pub fn counter_ready() -> bool {
    counter().is_some()
}

/// The processor's counter, once it is calibrated: `None` while it is not (or cannot be), and
/// fresh readings then come from tokio's clock.
fn counter() -> Option<&'static quanta::Clock> {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    static CALIBRATING: Once = Once::new();
    if let Some(clock) = CLOCK.get() {
        return Some(clock);
    }
    // Calibration spins for up to 200 ms: on a thread of its own, so that no run waits for it.
    // Where no thread can be started, readings stay on tokio's clock.
    CALIBRATING.call_once(|| {
        let calibrate = || {
            let _ = CLOCK.set(quanta::Clock::new());
        };
        let _ = std::thread::Builder::new().name("workflow-clock".into()).spawn(calibrate);
    });
    CLOCK.get()
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
    /// The latest time read in the poll inside [`timed`] (`None` outside one).
    static NOW: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The run's anchor, inside [`timed`].
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
    /// The counter as the poll inside [`timed`] read it, when fresh readings come from it.
    static COUNTER: Cell<Option<Counter>> = const { Cell::new(None) };
    static JITTER: Cell<Option<Jitter>> = const { Cell::new(None) };
    /// The limit on calls in flight of the run being polled, if it has one.
    static LIMIT: std::cell::RefCell<Option<Arc<Semaphore>>> = const { std::cell::RefCell::new(None) };
    /// Whether `LIMIT` holds one: the one thing a step of a run without a limit reads.
    static LIMITED: Cell<bool> = const { Cell::new(false) };
    /// Whether the run being polled takes the short way for its plain steps ([`plain`]).
    static PLAIN: Cell<bool> = const { Cell::new(false) };
}

/// Whether the run being polled inside [`timed`] runs its plain steps (no retries, no time
/// limits) the short way: it has no journal and no limit on calls in flight. Outside [`timed`],
/// `false`.
#[inline]
pub fn plain() -> bool {
    PLAIN.with(Cell::get)
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
    NOW.with(Cell::get).unwrap_or_else(Instant::now)
}

/// The wall-clock time of `at`, an instant on tokio's clock: from the run's anchor inside
/// [`timed`] (no reading of the wall clock), otherwise from a fresh reading of both clocks.
#[inline]
pub fn wall(at: Instant) -> SystemTime {
    ANCHOR.with(Cell::get).unwrap_or_else(Anchor::now).wall(at)
}

/// The time now, read from the clock, and kept for the rest of the current poll inside
/// [`timed`]: a step ends at a fresh reading (so a tool that computes for 50 ms without yielding
/// is recorded as taking 50 ms), and the step polled after it in the same poll starts there.
#[inline]
pub fn fresh() -> Instant {
    let now = match COUNTER.with(Cell::get) {
        Some(counter) => counter.now(),
        None => Instant::now(),
    };
    NOW.with(|cell| {
        if cell.get().is_some() {
            cell.set(Some(now));
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
    fresh();
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
        let counter = counter().map(|clock| Counter { at: now, raw: clock.raw(), clock });
        let anchor = *this.anchor.get_or_insert_with(|| Anchor { instant: now, wall: SystemTime::now() });
        // Two readings of a paused clock are the same: then every reading is tokio's own, so
        // that paused time stays exact.
        let counter = counter.filter(|_| Instant::now() != now);
        let previous = NOW.with(|cell| cell.replace(Some(now)));
        let previous_anchor = ANCHOR.with(|cell| cell.replace(Some(anchor)));
        let previous_counter = COUNTER.with(|cell| cell.replace(counter));
        let plain = this.journal.is_none() && this.limit.is_none();
        let previous_plain = PLAIN.with(|cell| cell.replace(plain));
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
        PLAIN.with(|cell| cell.set(previous_plain));
        COUNTER.with(|cell| cell.set(previous_counter));
        ANCHOR.with(|cell| cell.set(previous_anchor));
        NOW.with(|cell| cell.set(previous));
        result
    }
}
