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
    /// The step was running when the run was dropped or cancelled; its call was cancelled.
    Cancelled,
}

/// One call of a step's tool: when it ran, and how it failed if it did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attempt {
    /// When the call started (wall clock, read as [`StepRecord::started_at`] is).
    #[serde(rename = "started_at_ms", serialize_with = "unix_ms")]
    pub started_at: SystemTime,
    /// When the call ended (wall clock).
    #[serde(rename = "finished_at_ms", serialize_with = "unix_ms")]
    pub finished_at: SystemTime,
    /// How long the call took (tokio's clock).
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// The call's error, if it failed.
    pub error: Option<String>,
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
    pub attempts: Vec<Attempt>,
    /// When the first attempt started (tokio's clock, so paused time in tests is exact).
    ///
    /// The clock is read once per poll of the run and once per level, so steps that start or end
    /// in the same poll share a reading, and a step done within one poll lasts zero.
    pub started: Option<Instant>,
    /// When the last attempt ended (read as `started` is).
    pub finished: Option<Instant>,
    /// `started` on the wall clock: the run reads the wall clock once, when it starts, and adds
    /// the time elapsed on tokio's clock.
    pub started_at: Option<SystemTime>,
    /// `finished` on the wall clock (read as `started_at` is).
    pub finished_at: Option<SystemTime>,
    /// The last attempt's error, for a failed step; why it was skipped, for a skipped one.
    pub error: Option<String>,
}

impl StepRecord {
    /// A record for a step that has not run yet.
    pub fn pending(step: impl Into<Cow<'static, str>>, tool: impl Into<Cow<'static, str>>) -> Self {
        Self {
            step: step.into(),
            tool: tool.into(),
            status: StepStatus::Pending,
            attempts: Vec::new(),
            started: None,
            finished: None,
            started_at: None,
            finished_at: None,
            error: None,
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

    /// How long the step ran, from its first attempt's start to its last attempt's end.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.finished?.saturating_duration_since(self.started?))
    }
}

impl Serialize for StepRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StepRecord", 8)?;
        s.serialize_field("step", &self.step)?;
        s.serialize_field("tool", &self.tool)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("attempts", &self.attempts)?;
        s.serialize_field("started_at_ms", &self.started_at.map(unix_ms_value))?;
        s.serialize_field("finished_at_ms", &self.finished_at.map(unix_ms_value))?;
        s.serialize_field("duration_ms", &self.duration().map(|d| d.as_secs_f64() * 1000.0))?;
        s.serialize_field("error", &self.error)?;
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
    /// Wall-clock time at which the run ended (read as [`StepRecord::started_at`] is).
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
        let mut s = serializer.serialize_struct("RunRecord", 6)?;
        s.serialize_field("workflow", &self.workflow)?;
        s.serialize_field("started_at_ms", &unix_ms_value(self.started_at))?;
        s.serialize_field("finished_at_ms", &unix_ms_value(self.finished_at))?;
        s.serialize_field("duration_ms", &(self.duration().as_secs_f64() * 1000.0))?;
        s.serialize_field("cancelled", &self.cancelled)?;
        s.serialize_field("steps", &self.steps)?;
        s.end()
    }
}

/// Milliseconds since the Unix epoch (0 for an earlier time).
fn unix_ms_value(time: SystemTime) -> u64 {
    let ms = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    u64::try_from(ms).unwrap_or(u64::MAX)
}

fn unix_ms<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(unix_ms_value(*time))
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}
