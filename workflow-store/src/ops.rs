//! What the stores write and read: journal entries as row operations, and rows as runs.

use std::collections::HashMap;

use serde_json::Value;
use workflow_runtime::StepStatus;
use workflow_runtime::journal::{Entry, Recorded, Replay};

/// The schema both stores share, one migration per version (SQLite reads `BIGINT` as an
/// integer, as PostgreSQL does).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs and their steps.
    "CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        definition_hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        inputs TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        started_at_ms BIGINT NOT NULL,
        finished_at_ms BIGINT
    );
    CREATE INDEX runs_by_workflow ON runs (workflow, started_at_ms);
    CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs (run_id),
        step TEXT NOT NULL,
        seq BIGINT NOT NULL,
        tool TEXT NOT NULL,
        state TEXT NOT NULL,
        idempotency_key TEXT,
        args TEXT,
        output TEXT,
        record TEXT,
        error TEXT,
        started_at_ms BIGINT,
        finished_at_ms BIGINT,
        PRIMARY KEY (run_id, step)
    );",
    // 2: signals sent to runs, and the starts of durable waits.
    "CREATE TABLE signals (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        sent_at_ms BIGINT NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    CREATE TABLE waits (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        began_at_ms BIGINT NOT NULL,
        PRIMARY KEY (run_id, key)
    );",
    // 3 (SQLite; 4 in PostgreSQL, after the queue): the tokens a run's outputs kept out of a
    // model and returned (`TokenUsage` JSON).
    "ALTER TABLE runs ADD COLUMN tokens TEXT;",
];

/// The suffix of the id under which a step's compensation is logged: `charge/compensate`.
pub const COMPENSATION: &str = "compensate";

/// Where a step stands in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Its tool was called and its end is not recorded (it is running, or its process died).
    Running,
    /// It ended.
    Ended(StepStatus),
}

impl StepState {
    /// The state as stored: `running`, or the status's snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Running => "running",
            StepState::Ended(status) => status_name(status),
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "running" {
            return Some(StepState::Running);
        }
        serde_json::from_value(Value::String(text.to_owned())).ok().map(StepState::Ended)
    }
}

fn status_name(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Pending => "pending",
        StepStatus::Succeeded => "succeeded",
        StepStatus::Skipped => "skipped",
        StepStatus::Failed => "failed",
        StepStatus::Cancelled => "cancelled",
        StepStatus::Compensated => "compensated",
    }
}

/// A run as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// The run's id.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The SHA-256 of its definition.
    pub definition_hash: String,
    /// Its definition (name, inputs and steps, as `WorkflowTemplate` JSON).
    pub definition: Value,
    /// Its inputs, secrets redacted.
    pub inputs: Value,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it started (milliseconds since the Unix epoch).
    pub started_at_ms: u64,
    /// When it ended.
    pub finished_at_ms: Option<u64>,
    /// The tokens its outputs kept out of a model and returned, when the run counted them.
    pub tokens: Option<workflow_runtime::tokens::TokenUsage>,
    /// Its steps whose tools were called, in the order they started.
    pub steps: Vec<StoredStep>,
}

/// A step as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStep {
    /// The step's id.
    pub step: String,
    /// Its place in its run: 1 for the first step started.
    pub seq: u64,
    /// Its tool.
    pub tool: String,
    /// Where it stands.
    pub state: StepState,
    /// The idempotency key of its calls.
    pub idempotency_key: Option<String>,
    /// Its arguments, secrets redacted.
    pub args: Option<Value>,
    /// Its output, if it succeeded.
    pub output: Option<Value>,
    /// Its record: attempts, times, errors (`StepRecord` JSON).
    pub record: Option<Value>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it started.
    pub started_at_ms: Option<u64>,
    /// When it ended.
    pub finished_at_ms: Option<u64>,
}

impl StoredRun {
    /// What a resumed run needs of it.
    pub(crate) fn replay(&self) -> Replay {
        let mut steps = HashMap::with_capacity(self.steps.len());
        for step in &self.steps {
            let recorded = match step.state {
                StepState::Running => {
                    Recorded::Started { key: step.idempotency_key.clone().unwrap_or_default() }
                }
                // Undone: a resumed run calls it again.
                StepState::Ended(StepStatus::Compensated) => continue,
                StepState::Ended(status) => Recorded::Finished { status, output: step.output.clone() },
            };
            steps.insert(step.step.clone(), recorded);
        }
        let finished = match self.status.as_str() {
            "running" => None,
            status => Some(status == "succeeded"),
        };
        Replay {
            workflow: self.workflow.clone(),
            definition_hash: self.definition_hash.clone(),
            definition: self.definition.clone(),
            inputs: self.inputs.clone(),
            steps,
            finished,
        }
    }
}

/// One write of an entry, its JSON values as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// A new run (ignored if the run exists).
    Run { run: String, workflow: String, hash: String, definition: String, inputs: String, at: i64 },
    /// A step's tool is about to be called (a new row, or a row of an earlier attempt of the run
    /// set running again); `durable` when the run waits for it (its tool is not idempotent).
    Start { run: String, step: String, tool: String, key: String, durable: bool, at: i64 },
    /// A step ended; or a compensation, recorded as the step `<step>/compensate` (not durable:
    /// see [`Op::durable`]).
    Finish {
        run: String,
        step: String,
        tool: String,
        state: &'static str,
        args: Option<String>,
        output: Option<String>,
        record: Option<String>,
        error: Option<String>,
        durable: bool,
        at: i64,
    },
    /// A step was undone by its compensation.
    Compensated { run: String, step: String },
    /// The run ended.
    RunEnd { run: String, status: &'static str, error: Option<String>, tokens: Option<String>, at: i64 },
}

fn ms(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

fn text(value: &Value) -> String {
    value.to_string()
}

/// How long writes no run waits for wait for one it does, to share its commit: the starts of
/// idempotent steps, usually followed at once by the step's end.
pub(crate) const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

impl Op {
    /// Whether the write is committed at once. The start of an idempotent step, and the start
    /// and end of a run, are not: each waits a moment to share the commit of the next write
    /// (a step's end, which is always committed at once). A crash that loses one of them
    /// loses nothing a resume needs: an idempotent step is called again anyway, a run whose
    /// start is lost had recorded no step, and a run whose end is lost ends again when resumed,
    /// calling nothing.
    pub(crate) fn durable(&self) -> bool {
        !matches!(
            self,
            Op::Start { durable: false, .. }
                | Op::Finish { durable: false, .. }
                | Op::Run { .. }
                | Op::RunEnd { .. }
        )
    }
}

impl From<Entry> for Op {
    fn from(entry: Entry) -> Self {
        match entry {
            Entry::RunStarted { run, workflow, definition_hash, definition, inputs, at_ms } => Op::Run {
                run: run.to_string(),
                workflow,
                hash: definition_hash,
                definition: text(&definition),
                inputs: text(&inputs),
                at: ms(at_ms),
            },
            Entry::StepStarted { run, step, tool, key, idempotent, at_ms } => {
                Op::Start { run: run.to_string(), step, tool, key, durable: !idempotent, at: ms(at_ms) }
            }
            Entry::StepFinished { run, step, tool, status, args, output, record, at_ms } => {
                let error = record.get("error").and_then(Value::as_str).map(str::to_owned);
                Op::Finish {
                    run: run.to_string(),
                    step,
                    tool,
                    state: status_name(status),
                    args: args.as_ref().map(text),
                    output: output.as_ref().map(text),
                    record: (!record.is_null()).then(|| text(&record)),
                    error,
                    durable: true,
                    at: ms(at_ms),
                }
            }
            Entry::CompensationFinished { run, step, tool, status, record, at_ms } => Op::Finish {
                run: run.to_string(),
                error: record.get("error").and_then(Value::as_str).map(str::to_owned),
                step: format!("{step}/{COMPENSATION}"),
                tool,
                state: status_name(status),
                args: None,
                output: None,
                record: (!record.is_null()).then(|| text(&record)),
                durable: false,
                at: ms(at_ms),
            },
            Entry::StepCompensated { run, step, .. } => Op::Compensated { run: run.to_string(), step },
            Entry::RunFinished { run, succeeded, cancelled, error, tokens, at_ms } => Op::RunEnd {
                run: run.to_string(),
                status: match (succeeded, cancelled) {
                    (true, _) => "succeeded",
                    (false, true) => "cancelled",
                    (false, false) => "failed",
                },
                error,
                tokens: tokens.and_then(|t| serde_json::to_string(&t).ok()),
                at: ms(at_ms),
            },
        }
    }
}

/// JSON stored as text, read back (`None` for SQL `NULL`).
pub(crate) fn json(text: Option<String>, what: &str) -> Result<Option<Value>, String> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| format!("its {what} is not JSON: {e}"))).transpose()
}

/// A time stored as a signed integer.
pub(crate) fn unsigned(at: Option<i64>) -> Option<u64> {
    at.map(|t| u64::try_from(t).unwrap_or(0))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    i64::try_from(ms).unwrap_or(i64::MAX)
}
