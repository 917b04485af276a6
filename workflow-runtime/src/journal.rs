//! The journal: what a run has done, written as it goes, from which the same run continues after
//! a crash, a failure or a cancellation without calling again the tools whose calls finished.
//!
//! A run is journaled when its [`RunContext`](crate::RunContext) has a journal and a run id
//! ([`RunContext::with_journal`](crate::RunContext::with_journal)); compiled and run-time
//! workflows alike. The run then appends [`Entry`]s:
//!
//! 1. [`Entry::RunStarted`]: the workflow's name, its definition (and a hash of it) and its
//!    inputs, once, when the run id is new;
//! 2. [`Entry::StepStarted`], before a step's tool is first called: its idempotency key
//!    ([`IdempotencyKey`]). For a tool that is not idempotent the call waits until this entry is
//!    durable, so that a crash can never hide that the call may have happened;
//! 3. [`Entry::StepFinished`], when the step has ended: its status, arguments, output and record.
//!    The steps that need it start only once this entry is durable;
//! 4. [`Entry::StepCompensated`] when a compensation undid a step, and [`Entry::RunFinished`].
//!
//! Running again with the same run id *resumes* the run: the journal is read first
//! ([`Journal::load`]); a definition that changed is refused ([`JournalError::DefinitionChanged`],
//! naming the steps that changed), as are other inputs; every step that succeeded is not called
//! again, its recorded output is used (a typed output deserialises back); a step that started and
//! has no recorded end is called again if its tool is idempotent (with the same idempotency key),
//! and otherwise stops the run with [`JournalError::OutcomeUnknown`], for the user to decide.
//! Steps that failed, were skipped or cancelled run again: resuming a failed run redrives it.
//!
//! [`MemoryJournal`] keeps entries in memory (tests, and runs that need resuming only within a
//! process); the `workflow-store` crate (the `store` feature of `workflow`) keeps them in SQLite
//! or PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::WorkflowTemplate;
use crate::exec::StepStatus;
pub use crate::secret::REDACTED;

/// A run's id: the key its journal entries are stored under, and what resumes it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Arc<str>);

impl Serialize for RunId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

impl RunId {
    /// A new random id: 32 hexadecimal digits (128 bits from the operating system's source).
    pub fn random() -> Self {
        use rand::{Rng as _, SeedableRng as _};
        let n: u128 = rand::rngs::SmallRng::from_os_rng().random();
        Self(Arc::from(format!("{n:032x}")))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for RunId {
    fn from(id: &str) -> Self {
        Self(Arc::from(id))
    }
}

impl From<String> for RunId {
    fn from(id: String) -> Self {
        Self(Arc::from(id))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({})", self.0)
    }
}

/// One thing a run did, as its journal stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// A new run.
    RunStarted {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: String,
        /// The SHA-256 of the workflow's definition ([`definition_hash`]), in hexadecimal.
        definition_hash: String,
        /// The definition, as [`WorkflowTemplate`] JSON.
        definition: Value,
        /// The run's inputs (secrets redacted; `null` for an input that does not serialise).
        inputs: Value,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// A step's tool is about to be called for the first time in this run.
    StepStarted {
        /// The run.
        run: RunId,
        /// The step's id.
        step: String,
        /// Its tool.
        tool: String,
        /// The idempotency key its calls are given.
        key: String,
        /// Whether the tool is idempotent. The run waits for the entry to be durable only when it
        /// is not: a resumed run calls an idempotent step again anyway, so a store may write
        /// this entry without waiting for the disk.
        #[serde(default = "yes")]
        idempotent: bool,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// A step has ended.
    StepFinished {
        /// The run.
        run: RunId,
        /// The step's id.
        step: String,
        /// Its tool.
        tool: String,
        /// How it ended.
        status: StepStatus,
        /// Its arguments (secrets redacted), when they are known.
        args: Option<Value>,
        /// Its output, for a step that succeeded.
        output: Option<Value>,
        /// Its [`StepRecord`](crate::StepRecord), serialised: attempts, times, errors.
        record: Value,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// A step's compensation ran (it is recorded whether or not it succeeded; when it did,
    /// [`Entry::StepCompensated`] follows).
    CompensationFinished {
        /// The run.
        run: RunId,
        /// The step it undoes.
        step: String,
        /// The compensation's tool.
        tool: String,
        /// How the compensation ended.
        status: StepStatus,
        /// Its record: attempts, times, errors.
        record: Value,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// A step's compensation succeeded: the step is undone, and a resumed run calls it again.
    StepCompensated {
        /// The run.
        run: RunId,
        /// The step undone.
        step: String,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// The run has ended (it may be resumed all the same, unless it succeeded).
    RunFinished {
        /// The run.
        run: RunId,
        /// Whether every step succeeded.
        succeeded: bool,
        /// Whether it was cancelled or stopped by its deadline.
        cancelled: bool,
        /// Why it failed, if it did.
        error: Option<String>,
        /// The tokens its outputs kept out of a model and returned, when it counted them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tokens: Option<crate::tokens::TokenUsage>,
        /// Wall-clock time, milliseconds since the Unix epoch.
        at_ms: u64,
    },
}

impl Entry {
    /// The entry that settles a step whose outcome was unknown
    /// ([`JournalError::OutcomeUnknown`]) as a success with `output`, once the user has found
    /// out that its call took effect: appended to the journal, it lets the run resume without
    /// calling the step again. (To have the step called again instead, append
    /// [`Entry::StepCompensated`] for it.)
    pub fn resolved(run: &RunId, step: &str, tool: &str, output: Value) -> Self {
        Entry::StepFinished {
            run: run.clone(),
            step: step.to_owned(),
            tool: tool.to_owned(),
            status: StepStatus::Succeeded,
            args: None,
            output: Some(output),
            record: Value::Null,
            at_ms: now_ms(),
        }
    }

    /// The run the entry belongs to.
    pub fn run(&self) -> &RunId {
        match self {
            Entry::RunStarted { run, .. }
            | Entry::StepStarted { run, .. }
            | Entry::StepFinished { run, .. }
            | Entry::CompensationFinished { run, .. }
            | Entry::StepCompensated { run, .. }
            | Entry::RunFinished { run, .. } => run,
        }
    }
}

fn yes() -> bool {
    true
}

/// What a journal holds of one step of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The step started and its end was not recorded (the process may have crashed during its
    /// call).
    Started {
        /// The idempotency key its calls were given.
        key: String,
    },
    /// The step ended.
    Finished {
        /// How it ended.
        status: StepStatus,
        /// Its output, if it succeeded.
        output: Option<Value>,
    },
}

/// What a journal holds of a run: what [`Journal::load`] gives to resume it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replay {
    /// The workflow's name.
    pub workflow: String,
    /// The hash of its definition when the run started.
    pub definition_hash: String,
    /// The definition when the run started.
    pub definition: Value,
    /// The inputs it started with.
    pub inputs: Value,
    /// Each step's last entry, by step id.
    pub steps: HashMap<String, Recorded>,
    /// Whether the run finished, and if so whether it succeeded.
    pub finished: Option<bool>,
}

impl Replay {
    /// The replay of a journal's entries, in the order they were appended (every entry of the
    /// run; entries of other runs are ignored). `None` when the run never started.
    pub fn from_entries<'a>(run: &RunId, entries: impl IntoIterator<Item = &'a Entry>) -> Option<Self> {
        let mut replay: Option<Replay> = None;
        for entry in entries.into_iter().filter(|e| e.run() == run) {
            if let Entry::RunStarted { workflow, definition_hash, definition, inputs, .. } = entry {
                replay = Some(Replay {
                    workflow: workflow.clone(),
                    definition_hash: definition_hash.clone(),
                    definition: definition.clone(),
                    inputs: inputs.clone(),
                    ..Replay::default()
                });
            } else if let Some(replay) = &mut replay {
                replay.apply(entry);
            }
        }
        replay
    }

    /// Takes in one more entry of the run (after its [`Entry::RunStarted`]).
    pub fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::RunStarted { .. } => {}
            Entry::StepStarted { step, key, .. } => {
                self.steps.insert(step.clone(), Recorded::Started { key: key.clone() });
            }
            Entry::StepFinished { step, status, output, .. } => {
                let recorded = Recorded::Finished { status: *status, output: output.clone() };
                self.steps.insert(step.clone(), recorded);
            }
            Entry::StepCompensated { step, .. } => {
                self.steps.remove(step);
            }
            Entry::CompensationFinished { .. } => {}
            Entry::RunFinished { succeeded, .. } => self.finished = Some(*succeeded),
        }
    }
}

/// Why a journaled run could not go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JournalError {
    /// The journal could not be read or written.
    #[error("journal: {0}")]
    Store(String),
    /// The run was started with another definition of the workflow.
    #[error(
        "run `{run}` was started with another definition of `{workflow}` (hash {expected}, now {found}): {}; \
         resume it with the definition it started with, or start a new run",
        changes.join("; ")
    )]
    DefinitionChanged {
        /// The run.
        run: RunId,
        /// The workflow.
        workflow: String,
        /// The hash recorded when the run started.
        expected: String,
        /// The hash of the definition given now.
        found: String,
        /// What differs, step by step.
        changes: Vec<String>,
    },
    /// The run was started with other inputs.
    #[error("run `{run}` was started with other inputs: {changes}; resume it with the same inputs")]
    InputsChanged {
        /// The run.
        run: RunId,
        /// Which inputs differ.
        changes: String,
    },
    /// The run id belongs to a run of another workflow.
    #[error("run `{run}` is a run of `{recorded}`, not of `{workflow}`")]
    OtherWorkflow {
        /// The run.
        run: RunId,
        /// The workflow it is a run of.
        recorded: String,
        /// The workflow given now.
        workflow: String,
    },
    /// A step whose tool is not idempotent started in an earlier attempt of the run and its end
    /// was not recorded: it may or may not have taken effect, so it is not called again.
    #[error(
        "step `{step}` of run `{run}` started earlier (idempotency key `{key}`) and its end was not recorded; \
         its tool `{tool}` is not idempotent, so it is not called again: find out whether the call took \
         effect, then record its outcome in the journal, or start a new run"
    )]
    OutcomeUnknown {
        /// The run.
        run: RunId,
        /// The step.
        step: String,
        /// Its tool.
        tool: String,
        /// The idempotency key of its call.
        key: String,
    },
    /// A recorded output no longer deserialises into the step's output type.
    #[error("step `{step}` of run `{run}`: its recorded output does not fit its output type: {reason}")]
    Output {
        /// The run.
        run: RunId,
        /// The step.
        step: String,
        /// What serde reported.
        reason: String,
    },
}

/// A future that ends when an appended entry is durable (or could not be written).
pub type Durable = Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send + 'static>>;

/// Where a run's entries are kept: [`MemoryJournal`], or a store of the `workflow-store` crate.
///
/// [`append`](Journal::append) queues the entry at once (so the run's order of entries is the
/// order of the calls) and returns a future that ends when the entry is durable: a store may
/// write the entries that arrive together in one transaction.
pub trait Journal: Send + Sync {
    /// What the journal holds of `run`, or `None` for a run it has never seen.
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>>;

    /// Queues `entry`; the future ends when it is durable.
    fn append(&self, entry: Entry) -> Durable;

    /// Records `payload` as the signal `name` of `run` (a human's approval, say), for a step
    /// waiting for it ([`durable::wait_for_signal`](crate::durable::wait_for_signal)), in this
    /// process or another. A signal sent again replaces the first. The default refuses: the
    /// journal keeps no signals.
    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> Durable {
        let _ = (run, name, payload);
        Box::pin(std::future::ready(Err(JournalError::Store("this journal keeps no signals".to_owned()))))
    }

    /// The signal `name` of `run`, if it was sent.
    fn signal<'a>(
        &'a self,
        run: &'a RunId,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Value>, JournalError>> + Send + 'a>> {
        let _ = (run, name);
        Box::pin(std::future::ready(Err(JournalError::Store("this journal keeps no signals".to_owned()))))
    }

    /// When the wait `key` of `run` began (milliseconds since the Unix epoch): `now_ms`, made
    /// durable, the first time it is asked; what was recorded then, every later time (after the
    /// process waiting exited and the run resumed). A durable wait's timeout counts from it.
    fn wait_began<'a>(
        &'a self,
        run: &'a RunId,
        key: &'a str,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, JournalError>> + Send + 'a>> {
        let _ = (run, key, now_ms);
        Box::pin(std::future::ready(Err(JournalError::Store("this journal keeps no timers".to_owned()))))
    }
}

/// A journal in memory: every entry in the order appended, the signals sent and the waits begun.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<Entries>,
    signals: Mutex<HashMap<(RunId, String), Value>>,
    waits: Mutex<HashMap<(RunId, String), u64>>,
}

/// Every entry in order, and where each run's are, for a resume that reads one run of many.
#[derive(Debug, Default)]
struct Entries {
    all: Vec<Entry>,
    by_run: HashMap<RunId, Vec<usize>>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A journal holding `entries` (say, what another journal held when its process crashed).
    pub fn with_entries(entries: Vec<Entry>) -> Self {
        let journal = Self::default();
        for entry in entries {
            drop(journal.append(entry));
        }
        journal
    }

    /// Every entry so far, in order.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().map(|e| e.all.clone()).unwrap_or_default()
    }
}

impl Journal for MemoryJournal {
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>> {
        let replay = self.entries.lock().map_err(|_| poisoned()).map(|entries| {
            let positions = entries.by_run.get(run)?;
            Replay::from_entries(run, positions.iter().filter_map(|&i| entries.all.get(i)))
        });
        Box::pin(std::future::ready(replay))
    }

    fn append(&self, entry: Entry) -> Durable {
        let result = self
            .entries
            .lock()
            .map(|mut entries| {
                let position = entries.all.len();
                entries.by_run.entry(entry.run().clone()).or_default().push(position);
                entries.all.push(entry);
            })
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(result))
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> Durable {
        let result = self
            .signals
            .lock()
            .map(|mut signals| drop(signals.insert((run.clone(), name.to_owned()), payload)))
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(result))
    }

    fn signal<'a>(
        &'a self,
        run: &'a RunId,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Value>, JournalError>> + Send + 'a>> {
        let result = self
            .signals
            .lock()
            .map(|s| s.get(&(run.clone(), name.to_owned())).cloned())
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(result))
    }

    fn wait_began<'a>(
        &'a self,
        run: &'a RunId,
        key: &'a str,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, JournalError>> + Send + 'a>> {
        let result = self
            .waits
            .lock()
            .map(|mut waits| *waits.entry((run.clone(), key.to_owned())).or_insert(now_ms))
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(result))
    }
}

fn poisoned() -> JournalError {
    JournalError::Store("the journal's lock is poisoned".to_owned())
}

impl<J: Journal + ?Sized> Journal for Arc<J> {
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>> {
        (**self).load(run)
    }

    fn append(&self, entry: Entry) -> Durable {
        (**self).append(entry)
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> Durable {
        (**self).send_signal(run, name, payload)
    }

    fn signal<'a>(
        &'a self,
        run: &'a RunId,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Value>, JournalError>> + Send + 'a>> {
        (**self).signal(run, name)
    }

    fn wait_began<'a>(
        &'a self,
        run: &'a RunId,
        key: &'a str,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, JournalError>> + Send + 'a>> {
        (**self).wait_began(run, key, now_ms)
    }
}

/// The SHA-256 of a workflow's definition (its [`WorkflowTemplate`] as JSON), in hexadecimal:
/// what tells a resumed run that its workflow changed.
pub fn definition_hash(definition: &Value) -> String {
    use sha2::Digest as _;
    let mut text = String::new();
    canonical(definition, &mut text);
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` as JSON text with every object's keys sorted, so that equal definitions hash alike
/// whatever order their keys were written or read in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A workflow's definition as the journal keeps it: its name, inputs and steps. What does not
/// change how it runs (its description, its metadata, the levels derived from its steps) is left
/// out, so that editing a doc comment does not stop a run from resuming.
pub fn definition_json(template: &WorkflowTemplate) -> Value {
    let mut json = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(map) = json.as_object_mut() {
        for derived in ["description", "metadata", "parallel_groups"] {
            map.remove(derived);
        }
    }
    json
}

/// What differs between two definitions, step by step: "step `charge` added", "step `ship`
/// removed", "step `order`: `tool_name` changed", and the inputs and other fields.
pub fn definition_changes(recorded: &Value, now: &Value) -> Vec<String> {
    let steps = |v: &Value| -> BTreeMap<String, Value> {
        let list = v.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
        list.into_iter()
            .filter_map(|s| Some((s.get("step_id")?.as_str()?.to_owned(), s)))
            .collect::<BTreeMap<_, _>>()
    };
    let (old, new) = (steps(recorded), steps(now));
    let mut changes = Vec::new();
    for (id, step) in &old {
        match new.get(id) {
            None => changes.push(format!("step `{id}` removed")),
            Some(other) if other != step => {
                changes.push(format!("step `{id}`: {} changed", keys_changed(step, other).join(", ")));
            }
            Some(_) => {}
        }
    }
    changes.extend(new.keys().filter(|id| !old.contains_key(*id)).map(|id| format!("step `{id}` added")));
    let order = |m: &BTreeMap<String, Value>, v: &Value| -> Vec<String> {
        let list = v.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
        list.iter()
            .filter_map(|s| s.get("step_id")?.as_str().map(str::to_owned))
            .filter(|id| m.contains_key(id))
            .collect()
    };
    if changes.is_empty() && order(&new, recorded) != order(&old, now) {
        changes.push("the steps' order changed".to_owned());
    }
    let rest = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("steps");
        }
        v
    };
    let (old_rest, new_rest) = (rest(recorded), rest(now));
    if old_rest != new_rest {
        changes.push(format!("the workflow's {} changed", keys_changed(&old_rest, &new_rest).join(", ")));
    }
    if changes.is_empty() {
        changes.push("the definitions differ".to_owned());
    }
    changes
}

/// The top-level keys whose values differ, as "`key`".
fn keys_changed(a: &Value, b: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(|k| format!("`{k}`")).collect()
}

/// The idempotency key of the tool call being made: stable across the attempts of a step and
/// across the resumes of its run, so that a service called with it does its work once.
///
/// It is `<run id>/<step id>` for a step, and `<run id>/<step id>/<index>` for each call of a
/// `for item in …` step. A tool reads it with [`IdempotencyKey::current`], or takes it as a
/// parameter typed `IdempotencyKey` (like `State<T>`, not one of the tool's arguments):
///
/// ```
/// use workflow::prelude::*;
/// use workflow::journal::IdempotencyKey;
///
/// /// Charge a card once.
/// #[tool]
/// async fn charge(key: IdempotencyKey, cents: u64) -> Result<String, ToolError> {
///     // e.g. an `Idempotency-Key` header
///     Ok(format!("charged {cents} with key {}", key.as_str()))
/// }
/// ```
///
/// Outside a journaled run there is no run id: the key is then empty.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct IdempotencyKey(Option<Arc<str>>);

impl IdempotencyKey {
    /// The key of the call being made on this thread, inside a journaled run (empty otherwise).
    pub fn current() -> Self {
        Self(crate::exec::journaled::current_key())
    }

    /// The key as text (empty outside a journaled run).
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// Whether the call is made inside a journaled run.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.as_str())
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    u64::try_from(ms).unwrap_or(u64::MAX)
}
