//! What a run did: one [`StepRecord`] per step, gathered in a [`RunRecord`].
//!
//! Records serialise (with serde) for logs and journals: wall-clock times as Unix time in whole
//! milliseconds (`started_at_ms`, `finished_at_ms`), durations as milliseconds with a fraction
//! (`duration_ms`). tokio's [`Instant`]s are not serialised: they mean nothing outside the
//! process.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde::ser::{Serialize, SerializeStruct, Serializer};
use tokio::time::Instant;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The step has not run (the run stopped before reaching it).
    Pending,
    /// The tool returned an output.
    Succeeded,
    /// The step did not run: its condition was false, or a step it needs was skipped or failed.
    Skipped,
    /// The tool failed, panicked or timed out on its last attempt.
    Failed,
    /// The step was running when the run was dropped or cancelled, or when another step's
    /// failure stopped the run; its call was cancelled.
    Cancelled,
    /// The step succeeded, and its compensation undid it when the run failed later
    /// ([`RunRecord::compensations`] has the compensation's own record).
    Compensated,
}

impl StepStatus {
    /// How the step ended, as the trigger rules of the steps after it see it (`None` for a step
    /// that has not ended).
    pub fn ended(self) -> Option<workflow_core::graph::Ended> {
        use workflow_core::graph::Ended;
        Some(match self {
            StepStatus::Pending => return None,
            StepStatus::Succeeded | StepStatus::Compensated => Ended::Succeeded,
            StepStatus::Skipped => Ended::Skipped,
            StepStatus::Failed => Ended::Failed,
            StepStatus::Cancelled => Ended::Cancelled,
        })
    }
}

/// One call of a step's tool: when it ran (tokio's clock, as [`StepRecord::started`]), and how
/// it failed if it did. [`StepRecord::wall`] gives its times on the wall clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When the call started.
    pub started: Instant,
    /// When the call ended.
    pub finished: Instant,
    /// The call's error, if it failed.
    pub error: Option<String>,
}

impl Attempt {
    /// How long the call took.
    pub fn duration(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }
}

/// The attempts of a step, in order. The first is kept inline, so that a step called once (the
/// usual case) allocates nothing for its record; retries go to a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempts {
    first: Option<Attempt>,
    retries: Vec<Attempt>,
}

impl Attempts {
    /// Adds the next attempt.
    #[inline]
    pub fn push(&mut self, attempt: Attempt) {
        match self.first {
            None => self.first = Some(attempt),
            Some(_) => self.retries.push(attempt),
        }
    }

    /// How many attempts there were.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.retries.len()
    }

    /// `true` when the tool was not called.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The attempts in order.
    pub fn iter(&self) -> <&Self as IntoIterator>::IntoIter {
        self.into_iter()
    }

    /// The last attempt.
    #[inline]
    pub fn last(&self) -> Option<&Attempt> {
        self.retries.last().or(self.first.as_ref())
    }

    /// The attempt at `index` (from 0).
    pub fn get(&self, index: usize) -> Option<&Attempt> {
        match index {
            0 => self.first.as_ref(),
            i => self.retries.get(i - 1),
        }
    }
}

impl<'a> IntoIterator for &'a Attempts {
    type Item = &'a Attempt;
    type IntoIter = std::iter::Chain<std::option::Iter<'a, Attempt>, std::slice::Iter<'a, Attempt>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.iter().chain(&self.retries)
    }
}

/// What one step did in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The step's id in the workflow.
    pub step: Cow<'static, str>,
    /// The tool the step calls.
    pub tool: Cow<'static, str>,
    /// How it ended.
    pub status: StepStatus,
    /// Every call of the tool, in order (none for a skipped step); `attempts.len()` is how many
    /// times the tool was called.
    pub attempts: Attempts,
    /// When the first attempt started (tokio's clock, so paused time in tests is exact).
    ///
    /// A step starts at the latest reading of the clock in its poll of the run (the poll's own,
    /// or the end of the step polled just before it) and ends at a fresh reading, so its
    /// duration is the time its calls took, even for a tool that computes without yielding.
    pub started: Option<Instant>,
    /// When the last attempt ended (read as `started` is).
    pub finished: Option<Instant>,
    /// The run's reading of both clocks, from which the step's wall-clock times are derived
    /// ([`wall`](Self::wall)): set when the run takes the record, so a step pays nothing for them.
    clock: Option<WallClock>,
    /// The last attempt's error, for a failed step; why it was skipped, for a skipped one.
    pub error: Option<String>,
    /// `true` when the step's own calls failed and its fallback (`on_error fallback …`) gave
    /// the output: the fallback's call is the last attempt.
    pub fallback: bool,
    /// `true` when the step failed because a time limit (`timeout`, `deadline`) cut its last
    /// call: what `<<step.$timed_out>>` tests.
    pub timed_out: bool,
    /// `true` when the step was not called in this run: a journaled run that was resumed took
    /// its output from the journal, where an earlier attempt of the run recorded it.
    pub replayed: bool,
}

impl StepRecord {
    /// A record for a step that has not run yet.
    pub fn pending(step: impl Into<Cow<'static, str>>, tool: impl Into<Cow<'static, str>>) -> Self {
        Self {
            step: step.into(),
            tool: tool.into(),
            status: StepStatus::Pending,
            attempts: Attempts::default(),
            started: None,
            finished: None,
            clock: None,
            error: None,
            fallback: false,
            timed_out: false,
            replayed: false,
        }
    }

    /// A record for a step that did not run, with the reason.
    pub fn skipped(
        step: impl Into<Cow<'static, str>>,
        tool: impl Into<Cow<'static, str>>,
        reason: impl Into<String>,
    ) -> Self {
        Self { status: StepStatus::Skipped, error: Some(reason.into()), ..Self::pending(step, tool) }
    }

    /// Records the end of a step called once, started at [`started`](Self::started): its one
    /// attempt, from then to `finished`, and how it ended.
    #[inline]
    pub(crate) fn called_once<T, E: std::ops::Deref<Target = crate::StepError>>(
        &mut self,
        finished: Instant,
        result: &Result<T, E>,
    ) {
        let started = self.started.unwrap_or(finished);
        self.finished = Some(finished);
        match result {
            Ok(_) => {
                self.status = StepStatus::Succeeded;
                self.attempts.push(Attempt { started, finished, error: None });
            }
            Err(error) => self.failed_once(started, error),
        }
    }

    #[cold]
    fn failed_once(&mut self, started: Instant, error: &crate::StepError) {
        let error = error.to_string();
        self.status = StepStatus::Failed;
        self.error = Some(error.clone());
        let finished = self.finished.unwrap_or(started);
        self.attempts.push(Attempt { started, finished, error: Some(error) });
    }

    /// How long the step ran, from its first attempt's start to its last attempt's end.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.finished?.saturating_duration_since(self.started?))
    }

    /// The wall-clock time of `at`, an instant of this step (an attempt's start or end): the
    /// run reads the wall clock once, when it starts, and adds the time elapsed on tokio's
    /// clock. `None` for a record no run has taken yet.
    pub fn wall(&self, at: Instant) -> Option<SystemTime> {
        let clock = self.clock?;
        match at.checked_duration_since(clock.instant) {
            Some(later) => clock.wall.checked_add(later),
            None => clock.wall.checked_sub(clock.instant.saturating_duration_since(at)),
        }
    }

    /// When the first attempt started, on the wall clock.
    pub fn started_at(&self) -> Option<SystemTime> {
        self.wall(self.started?)
    }

    /// Ties the record to its run's clocks.
    pub(crate) fn set_clock(&mut self, instant: Instant, wall: SystemTime) {
        self.clock = Some(WallClock { instant, wall });
    }

    /// When the last attempt ended, on the wall clock.
    pub fn finished_at(&self) -> Option<SystemTime> {
        self.wall(self.finished?)
    }
}

/// One instant on tokio's clock and the wall-clock time read with it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WallClock {
    instant: Instant,
    wall: SystemTime,
}

/// An attempt as it serialises: its times on the wall clock of its step.
struct AttemptJson<'a>(&'a StepRecord, &'a Attempt);

impl Serialize for AttemptJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let AttemptJson(step, attempt) = self;
        let mut s = serializer.serialize_struct("Attempt", 4)?;
        s.serialize_field("started_at_ms", &step.wall(attempt.started).map(unix_ms_value))?;
        s.serialize_field("finished_at_ms", &step.wall(attempt.finished).map(unix_ms_value))?;
        s.serialize_field("duration_ms", &ms(attempt.duration()))?;
        s.serialize_field("error", &attempt.error)?;
        s.end()
    }
}

impl Serialize for StepRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StepRecord", 11)?;
        s.serialize_field("step", &self.step)?;
        s.serialize_field("tool", &self.tool)?;
        s.serialize_field("status", &self.status)?;
        let attempts: Vec<AttemptJson<'_>> = self.attempts.iter().map(|a| AttemptJson(self, a)).collect();
        s.serialize_field("attempts", &attempts)?;
        s.serialize_field("started_at_ms", &self.started_at().map(unix_ms_value))?;
        s.serialize_field("finished_at_ms", &self.finished_at().map(unix_ms_value))?;
        s.serialize_field("duration_ms", &self.duration().map(ms))?;
        s.serialize_field("error", &self.error)?;
        s.serialize_field("fallback", &self.fallback)?;
        s.serialize_field("timed_out", &self.timed_out)?;
        s.serialize_field("replayed", &self.replayed)?;
        s.end()
    }
}

/// What a whole run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The workflow's name.
    pub workflow: Cow<'static, str>,
    /// Wall-clock time at which the run started.
    pub started_at: SystemTime,
    /// Wall-clock time at which the run ended (the start's reading plus the time elapsed).
    pub finished_at: SystemTime,
    /// When the run started (tokio's clock).
    pub started: Instant,
    /// When the run ended.
    pub finished: Instant,
    /// `true` when the run was dropped or cancelled before it ended: the steps it had not
    /// finished are [`Pending`](StepStatus::Pending), or [`Cancelled`](StepStatus::Cancelled)
    /// when they were running.
    pub cancelled: bool,
    /// One record per step: level by level for a compiled workflow (a step the run did not reach
    /// is [`Pending`](StepStatus::Pending)), in the order the steps ended for a run-time one
    /// (followed, in a cancelled run, by the steps that had not ended).
    pub steps: Vec<StepRecord>,
    /// The compensations that ran after the run failed, in the order they ran (the reverse of
    /// the order their steps completed), each recorded like a step: its `step` is the step it
    /// undid, its `tool` the compensation's tool.
    pub compensations: Vec<StepRecord>,
    /// The tokens of the steps' outputs that stayed in the workflow and that it returned, when
    /// the run succeeded and was given a tokenizer (`RunContext::with_tokenizer`).
    pub tokens: Option<crate::tokens::TokenUsage>,
}

impl RunRecord {
    /// The record of the step with this id.
    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == id)
    }

    /// How long the run took.
    pub fn duration(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }

    /// `true` when the run was not cancelled and no step failed.
    pub fn succeeded(&self) -> bool {
        !self.cancelled && self.steps.iter().all(|s| s.status != StepStatus::Failed)
    }
}

impl Serialize for RunRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RunRecord", 8)?;
        s.serialize_field("workflow", &self.workflow)?;
        s.serialize_field("started_at_ms", &unix_ms_value(self.started_at))?;
        s.serialize_field("finished_at_ms", &unix_ms_value(self.finished_at))?;
        s.serialize_field("duration_ms", &ms(self.duration()))?;
        s.serialize_field("cancelled", &self.cancelled)?;
        s.serialize_field("steps", &self.steps)?;
        s.serialize_field("compensations", &self.compensations)?;
        s.serialize_field("tokens", &self.tokens)?;
        s.end()
    }
}

/// Milliseconds since the Unix epoch (0 for an earlier time).
fn unix_ms_value(time: SystemTime) -> u64 {
    let ms = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// A duration in milliseconds, with a fraction.
fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
