//! [`RunContext`]: what a run is given besides its inputs.

use std::fmt;
use std::time::Duration;

use super::observe::RunObserver;
use super::template::Schedule;

/// What a run is given besides its inputs: what its tools need, options, and observers.
///
/// For a compiled workflow, `S` is the shared state its tools take through
/// [`State<T>`](crate::State); for a run-time workflow, it is the [`Toolbox`](crate::Toolbox)
/// its steps call. A plain reference converts into a context with no observers and default
/// options, so `name(a, b).run(&state)` and `prepared.run(&tools, inputs)` stay short:
///
/// ```
/// use workflow::prelude::*;
/// use workflow::{RunContext, RunObserver, RunRecord};
///
/// /// Add two numbers.
/// #[tool]
/// async fn add(a: i64, b: i64) -> Result<i64, ToolError> { Ok(a + b) }
///
/// workflow! {
///     /// Add twice.
///     pub sums(x: i64) {
///         first = add(a: <<x>>, b: 1);
///         second = add(a: <<first>>, b: <<first>>);
///     }
/// }
///
/// struct Log;
/// impl RunObserver for Log {
///     fn on_run_finished(&self, run: &RunRecord) {
///         println!("{} took {:?}", run.workflow, run.duration());
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let run = sums(2).run(&()).await?;
/// assert_eq!(run.second, 6);
/// let run = sums(2).run(RunContext::new(&()).observe(&Log)).await?;
/// assert_eq!(run.second, 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct RunContext<'a, S: ?Sized = ()> {
    state: &'a S,
    observers: Vec<&'a dyn RunObserver>,
    schedule: Option<Schedule>,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
    cancellation: Option<tokio_util::sync::CancellationToken>,
    limit: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    journal: Option<(std::sync::Arc<dyn crate::journal::Journal>, crate::journal::RunId)>,
    tokenizer: Option<&'a dyn crate::tokens::Tokenizer>,
}

impl<'a, S: ?Sized> RunContext<'a, S> {
    /// A context for `state`, with no observers and default options.
    pub fn new(state: &'a S) -> Self {
        Self {
            state,
            observers: Vec::new(),
            schedule: None,
            deadline: None,
            jitter_seed: None,
            cancellation: None,
            limit: None,
            journal: None,
            tokenizer: None,
        }
    }

    /// Adds an observer of the run.
    #[must_use]
    pub fn observe(mut self, observer: &'a dyn RunObserver) -> Self {
        self.observers.push(observer);
        self
    }

    /// Sets how the run's steps are scheduled, instead of the executor's setting.
    ///
    /// Run-time workflows follow it. A compiled workflow's schedule is part of its code, chosen
    /// where it is written (`#[schedule(eager)]`, or level by level), and this is ignored.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Bounds the whole run: a run still running after `deadline` stops as a failure does (the
    /// calls in flight are cancelled, the steps with `after` run, then the compensations), and
    /// fails with [`StepError::RunDeadlineExceeded`](crate::StepError::RunDeadlineExceeded)
    /// (a run-time workflow with
    /// [`ExecuteError::DeadlineExceeded`](crate::ExecuteError::DeadlineExceeded)). Its record is
    /// marked [`cancelled`](crate::RunRecord::cancelled).
    ///
    /// Dropping a run's future instead stops it at once: the calls in flight are dropped, and no
    /// compensation runs.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// What the tools need: the shared state, or the toolbox.
    pub fn state(&self) -> &'a S {
        self.state
    }

    /// The run's observers, in the order they were added.
    pub fn observers(&self) -> &[&'a dyn RunObserver] {
        &self.observers
    }

    /// The schedule asked for, if any.
    pub fn schedule(&self) -> Option<Schedule> {
        self.schedule
    }

    /// Seeds the random delays of `retry … jitter`: with the same seed, a run waits the same
    /// delays in the same order (compiled and run-time workflows draw them alike). Without one,
    /// the seed comes from the operating system.
    #[must_use]
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Lets `token` cancel the run: once it is cancelled, the run stops as a failure does (the
    /// calls in flight are cancelled, the steps with `after` run, then the compensations of the
    /// steps that succeeded) and fails with [`StepError::Cancelled`](crate::StepError::Cancelled).
    #[must_use]
    pub fn with_cancellation(mut self, token: tokio_util::sync::CancellationToken) -> Self {
        self.cancellation = Some(token);
        self
    }

    /// Runs at most `n` tool calls at once (at least one) across the whole run: every step,
    /// every call of a `for` step, every retry waits for one of `n` places. For compiled and
    /// run-time workflows alike.
    #[must_use]
    pub fn with_max_concurrency(mut self, n: usize) -> Self {
        self.limit = Some(std::sync::Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        self
    }

    /// Journals the run in `journal` under the id `run` ([`RunId::random`](crate::journal::RunId::random)
    /// for a new run): every step's start and end is appended as the run goes, and running
    /// again with the same id resumes the run where it stopped, without calling again the
    /// tools whose steps succeeded ([`crate::journal`] says how). For compiled and run-time
    /// workflows alike.
    #[must_use]
    pub fn with_journal(
        mut self,
        journal: std::sync::Arc<dyn crate::journal::Journal>,
        run: impl Into<crate::journal::RunId>,
    ) -> Self {
        self.journal = Some((journal, run.into()));
        self
    }

    /// Counts the tokens of the run's outputs with `tokenizer`: those kept in the workflow and
    /// those it returns ([`crate::tokens`]), in the run's record and its journal, for compiled
    /// and run-time workflows alike. A run that fails counts nothing.
    #[must_use]
    pub fn with_tokenizer(mut self, tokenizer: &'a dyn crate::tokens::Tokenizer) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// The tokenizer the run counts with, if any.
    pub fn tokenizer(&self) -> Option<&'a dyn crate::tokens::Tokenizer> {
        self.tokenizer
    }

    /// The id of the run, for a journaled run.
    pub fn run_id(&self) -> Option<&crate::journal::RunId> {
        self.journal.as_ref().map(|(_, run)| run)
    }

    /// The journal of a run made with this context, for a journaled run.
    pub fn journal_slot(&self) -> Option<std::sync::Arc<super::journaled::JournalSlot>> {
        let (journal, run) = self.journal.as_ref()?;
        Some(super::journaled::JournalSlot::new(journal.clone(), run.clone()))
    }

    /// The run's limit on calls in flight, if it has one.
    pub fn call_limit(&self) -> Option<std::sync::Arc<tokio::sync::Semaphore>> {
        self.limit.clone()
    }

    /// What stops the run from outside: its deadline or its cancellation, whichever comes
    /// first (a future that never ends when the run has neither).
    pub fn stop_signal(&self) -> super::StopSignal {
        super::StopSignal::new(self.deadline, self.cancellation.clone())
    }

    /// The jitter seed asked for, if any.
    pub fn jitter_seed(&self) -> Option<u64> {
        self.jitter_seed
    }

    /// The whole-run deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
}

impl<'a, S: ?Sized> From<&'a S> for RunContext<'a, S> {
    fn from(state: &'a S) -> Self {
        Self::new(state)
    }
}

impl<S: ?Sized> fmt::Debug for RunContext<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("observers", &self.observers.len())
            .field("schedule", &self.schedule)
            .field("deadline", &self.deadline)
            .field("jitter_seed", &self.jitter_seed)
            .field("cancellation", &self.cancellation.is_some())
            .field("max_concurrency", &self.limit.as_ref().map(|l| l.available_permits()))
            .field("run_id", &self.run_id())
            .field("tokenizer", &self.tokenizer.map(|t| t.encoding()))
            .finish_non_exhaustive()
    }
}
