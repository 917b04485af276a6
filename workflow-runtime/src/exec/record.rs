//! What a run did: one [`StepRecord`] per step, gathered in a [`RunRecord`].

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

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
    /// How many times the tool was called (0 for a skipped step).
    pub attempts: u32,
    /// When the first attempt started (tokio's clock, so paused time in tests is exact).
    ///
    /// The clock is read once per poll of the run and once per level, so steps that start or end
    /// in the same poll share a reading, and a step done within one poll lasts zero.
    pub started: Option<Instant>,
    /// When the last attempt ended (read as `started` is).
    pub finished: Option<Instant>,
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
            attempts: 0,
            started: None,
            finished: None,
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

/// What a whole run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The workflow's name.
    pub workflow: Cow<'static, str>,
    /// Wall-clock time at which the run started.
    pub started_at: SystemTime,
    /// When the run started (tokio's clock).
    pub started: Instant,
    /// When the run ended.
    pub finished: Instant,
    /// One record per step: level by level for a compiled workflow (a step the run did not reach
    /// is [`Pending`](StepStatus::Pending)), in the order the steps ended for a run-time one.
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

    /// `true` when no step failed.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| s.status != StepStatus::Failed)
    }
}
