//! A run in progress ([`RunRecorder`]) and a finished one ([`Run`]).

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::time::SystemTime;

use tokio::time::Instant;

use super::driver::{StepOutcome, StepSpec};
use super::record::{RunRecord, StepRecord};
use crate::error::{StepError, WorkflowError};

/// A finished run: the typed outputs of every step and the run's record.
///
/// It dereferences to the outputs, so `run.create_pr.url` reads a step's output directly.
#[derive(Debug, Clone)]
pub struct Run<O> {
    /// One field per step.
    pub outputs: O,
    /// What each step did.
    pub record: RunRecord,
}

impl<O> Deref for Run<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.outputs
    }
}

impl<O> DerefMut for Run<O> {
    fn deref_mut(&mut self) -> &mut O {
        &mut self.outputs
    }
}

/// A step that failed, waiting to be reported by [`RunRecorder::check`].
#[derive(Debug)]
pub struct Failed {
    step: Cow<'static, str>,
    error: StepError,
}

/// Collects step records while a run goes on.
#[derive(Debug)]
pub struct RunRecorder {
    record: RunRecord,
}

impl RunRecorder {
    /// Starts recording a run of `workflow` with room for `steps` step records.
    pub fn new(workflow: impl Into<Cow<'static, str>>, steps: usize) -> Self {
        let now = Instant::now();
        Self {
            record: RunRecord {
                workflow: workflow.into(),
                started_at: SystemTime::now(),
                started: now,
                finished: now,
                steps: Vec::with_capacity(steps),
            },
        }
    }

    /// Starts recording a run of a compiled workflow: one pending record per step, in the
    /// order of `steps` (level by level), for the steps to fill in place.
    pub fn planned(workflow: &'static str, steps: &[&StepSpec]) -> Self {
        let mut recorder = Self::new(workflow, steps.len());
        recorder.record.steps.extend(steps.iter().map(|s| StepRecord::pending(s.id.clone(), s.tool.clone())));
        recorder
    }

    /// The records of the `N` steps of a level, from position `start`, for its steps to fill.
    pub fn level<const N: usize>(&mut self, start: usize) -> &mut [StepRecord; N] {
        let slots = self
            .record
            .steps
            .get_mut(start..start + N)
            .and_then(|s| <&mut [StepRecord; N]>::try_from(s).ok());
        // `planned` made one record per step, and the macro asks for each level's own range.
        #[allow(clippy::expect_used)]
        slots.expect("a level's records lie within the planned records")
    }

    /// Passes on the output of the step at `position`, or ends the run with its error.
    pub fn settle<T>(
        &mut self,
        position: usize,
        result: Result<T, StepError>,
    ) -> Result<T, Box<WorkflowError>> {
        let step = self.record.steps.get(position).map_or(Cow::Borrowed("?"), |r| r.step.clone());
        self.check(result.map_err(|error| Failed { step, error }))
    }

    /// Keeps a step's record and hands back its result, to be [`check`](Self::check)ed once
    /// every step of the level is recorded.
    pub fn record<T>(&mut self, (record, result): StepOutcome<T>) -> Result<T, Failed> {
        let step = record.step.clone();
        self.record.steps.push(record);
        result.map_err(|error| Failed { step, error })
    }

    /// Keeps the record of a step that did not run.
    pub fn skip(&mut self, record: StepRecord) {
        self.record.steps.push(record);
    }

    /// Passes an output on, or ends the run with the step's error and the record so far.
    pub fn check<T>(&mut self, result: Result<T, Failed>) -> Result<T, Box<WorkflowError>> {
        result.map_err(|Failed { step, error }| {
            Box::new(WorkflowError {
                workflow: self.record.workflow.clone(),
                step,
                error,
                record: self.take(),
            })
        })
    }

    /// Ends the run.
    pub fn finish(mut self) -> RunRecord {
        self.take()
    }

    fn take(&mut self) -> RunRecord {
        self.record.finished = Instant::now();
        RunRecord { steps: std::mem::take(&mut self.record.steps), ..self.record.clone() }
    }
}
