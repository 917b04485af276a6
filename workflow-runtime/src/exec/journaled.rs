//! A journaled run, as the step driver sees it: the journal of the run being polled (set per poll
//! by [`Timed`](super::Timed), like the clock), what its steps replay, and the entries they
//! append. A run without a journal pays one read of a thread-local flag per step.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::driver::StepSpec;
use super::record::{RunRecord, StepRecord, StepStatus};
use crate::error::StepError;
use crate::journal::{
    Durable, Entry, Journal, JournalError, Recorded, RunId, definition_changes, definition_hash, now_ms,
};

/// The journal of one run, shared by the polls of the run.
pub struct JournalSlot {
    journal: Arc<dyn Journal>,
    run: RunId,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// What the journal held of each step when the run was opened.
    replay: HashMap<String, Recorded>,
    /// The run's last entry, until it is durable.
    closing: Option<Durable>,
}

impl JournalSlot {
    /// The slot of a run of `journal` with id `run`.
    pub fn new(journal: Arc<dyn Journal>, run: RunId) -> Arc<Self> {
        Arc::new(Self { journal, run, state: Mutex::new(SlotState::default()) })
    }

    fn append(&self, entry: Entry) -> Durable {
        self.journal.append(scrubbed(entry))
    }

    /// The journal and the run id.
    pub(crate) fn parts(&self) -> (Arc<dyn Journal>, RunId) {
        (self.journal.clone(), self.run.clone())
    }

    fn recorded(&self, step: &str) -> Option<Recorded> {
        self.state.lock().ok()?.replay.get(step).cloned()
    }

    /// Waits until the run's last entry is durable (a failure to write it is logged: the run's
    /// result is already decided).
    pub(crate) async fn close(&self) {
        let closing = self.state.lock().ok().and_then(|mut s| s.closing.take());
        if let Some(closing) = closing {
            if let Err(error) = closing.await {
                tracing::error!(run = %self.run, %error, "the run's end could not be journaled");
            }
        }
    }
}

impl std::fmt::Debug for JournalSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSlot").field("run", &self.run).finish_non_exhaustive()
    }
}

thread_local! {
    /// The journal of the run being polled, if it has one.
    static SLOT: RefCell<Option<Arc<JournalSlot>>> = const { RefCell::new(None) };
    /// Whether `SLOT` holds one: the one thing a step of a run without a journal reads.
    static JOURNALED: Cell<bool> = const { Cell::new(false) };
    /// The idempotency key of the call being polled.
    static KEY: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Sets `slot` as the journal of the run polled until the guard is dropped.
pub(crate) fn enter(slot: &Arc<JournalSlot>) -> impl Drop {
    let previous = SLOT.with(|s| s.replace(Some(slot.clone())));
    let was = JOURNALED.with(|j| j.replace(true));
    Restore { previous: Some(previous), was }
}

struct Restore {
    previous: Option<Option<Arc<JournalSlot>>>,
    was: bool,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.previous.take().flatten();
        SLOT.with(|s| *s.borrow_mut() = previous);
        JOURNALED.with(|j| j.set(self.was));
    }
}

/// The journal of the run being polled.
#[inline]
fn current() -> Option<Arc<JournalSlot>> {
    if !JOURNALED.with(Cell::get) {
        return None;
    }
    SLOT.with(|s| s.borrow().clone())
}

/// The journal and id of the run being polled, for a journaled run (what its durable waits read).
pub fn current_run() -> Option<(Arc<dyn Journal>, RunId)> {
    current().map(|slot| (slot.journal.clone(), slot.run.clone()))
}

/// Whether the run being polled is journaled.
#[inline]
pub fn journaled() -> bool {
    JOURNALED.with(Cell::get)
}

/// The idempotency key of the call being polled.
pub(crate) fn current_key() -> Option<Arc<str>> {
    KEY.with(|k| k.borrow().clone())
}

/// The idempotency key of step `step` of the run being polled (of its call `item`, for a
/// `for` step), if it is journaled.
pub(crate) fn key_of(step: &str, item: Option<usize>) -> Option<Arc<str>> {
    let slot = current()?;
    Some(Arc::from(match item {
        None => key(&slot.run, step),
        Some(i) => key(&slot.run, &format!("{step}/{i}")),
    }))
}

/// The idempotency key of `step` (`<step>/<i>` for a call of a `for` step) in `run`.
fn key(run: &RunId, step: &str) -> String {
    format!("{run}/{step}")
}

pin_project_lite::pin_project! {
    /// A call polled with its idempotency key set ([`IdempotencyKey::current`](crate::journal::IdempotencyKey::current)).
    pub(crate) struct Keyed<F> {
        #[pin]
        inner: F,
        key: Arc<str>,
    }
}

pub(crate) fn keyed<F: Future>(key: Arc<str>, inner: F) -> Keyed<F> {
    Keyed { inner, key }
}

impl<F: Future> Future for Keyed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let previous = KEY.with(|k| k.replace(Some(this.key.clone())));
        let polled = this.inner.poll(cx);
        KEY.with(|k| *k.borrow_mut() = previous);
        polled
    }
}

/// `entry` with every secret seen by the process scrubbed from its values and texts.
fn scrubbed(mut entry: Entry) -> Entry {
    use crate::secret::scrub_json;
    match &mut entry {
        Entry::RunStarted { inputs, definition, .. } => {
            scrub_json(inputs);
            scrub_json(definition);
        }
        Entry::StepFinished { args, output, record, .. } => {
            args.iter_mut().chain(output.iter_mut()).for_each(scrub_json);
            scrub_json(record);
        }
        Entry::CompensationFinished { record, .. } => scrub_json(record),
        Entry::RunFinished { error: Some(error), .. } => {
            if let Cow::Owned(clean) = crate::secret::scrub(error) {
                *error = clean;
            }
        }
        Entry::StepStarted { .. } | Entry::StepCompensated { .. } | Entry::RunFinished { .. } => {}
    }
    entry
}

fn store_error(error: JournalError) -> StepError {
    StepError::from(error)
}

/// Opens the journal of the run being polled, if it has one, before its first step: a new run
/// is recorded ([`Entry::RunStarted`]); a run the journal knows is resumed, once its workflow,
/// its definition (`definition`, as [`WorkflowTemplate`](crate::WorkflowTemplate) JSON) and its
/// inputs are checked to be the ones it started with.
///
/// The future is boxed: a run without a journal does not carry its state.
pub fn open<'a>(
    workflow: &'a str,
    definition: impl FnOnce() -> Definition + Send + 'a,
    inputs: Value,
) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 'a>> {
    Box::pin(open_journal(workflow, definition, inputs))
}

async fn open_journal(
    workflow: &str,
    definition: impl FnOnce() -> Definition,
    inputs: Value,
) -> Result<(), StepError> {
    let Some(slot) = current() else { return Ok(()) };
    let Definition { json: definition, hash } = definition();
    let run = slot.run.clone();
    match slot.journal.load(&run).await.map_err(store_error)? {
        None => {
            let entry = Entry::RunStarted {
                run,
                workflow: workflow.to_owned(),
                definition_hash: hash,
                definition,
                inputs,
                at_ms: now_ms(),
            };
            slot.append(entry).await.map_err(store_error)
        }
        Some(replay) => {
            if replay.workflow != workflow {
                let error = JournalError::OtherWorkflow {
                    run,
                    recorded: replay.workflow,
                    workflow: workflow.to_owned(),
                };
                return Err(store_error(error));
            }
            if replay.definition_hash != hash {
                let changes = definition_changes(&replay.definition, &definition);
                return Err(store_error(JournalError::DefinitionChanged {
                    run,
                    workflow: workflow.to_owned(),
                    expected: replay.definition_hash,
                    found: hash,
                    changes,
                }));
            }
            if replay.inputs != inputs {
                let changes = inputs_changed(&replay.inputs, &inputs);
                return Err(store_error(JournalError::InputsChanged { run, changes }));
            }
            tracing::info!(run = %slot.run, workflow, steps = replay.steps.len(), "resuming a journaled run");
            if let Ok(mut state) = slot.state.lock() {
                state.replay = replay.steps;
            }
            Ok(())
        }
    }
}

/// A workflow's definition as its journal keeps it, with its hash: made once per compiled
/// workflow.
#[derive(Debug, Clone)]
pub struct Definition {
    json: Value,
    hash: String,
}

impl Definition {
    /// The definition of `template`.
    pub fn of(template: &crate::WorkflowTemplate) -> Self {
        let json = crate::journal::definition_json(template);
        let hash = definition_hash(&json);
        Self { json, hash }
    }
}

/// Which inputs differ between two input objects.
fn inputs_changed(recorded: &Value, now: &Value) -> String {
    let empty = serde_json::Map::new();
    let (a, b) = (recorded.as_object().unwrap_or(&empty), now.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return "the inputs differ".to_owned();
    }
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// A step of a journaled run, before its call: what the journal says of it.
pub enum Replayed<T> {
    /// The step is not called: its recorded output (the journal holds its success), or why the
    /// run cannot go on (its outcome is unknown, or its output does not deserialise). Its record
    /// is written.
    Done(Result<T, StepError>),
    /// The step runs; with the journal to tell of it, for a journaled run (on the heap: a step
    /// of a run without a journal carries one pointer for it).
    Run(Option<Box<StepJournal>>),
}

/// What a step of a journaled run appends.
#[derive(Debug)]
pub struct StepJournal {
    slot: Arc<JournalSlot>,
    step: Cow<'static, str>,
    tool: Cow<'static, str>,
}

/// What the journal of the run being polled says of the step of `spec`, whose tool is
/// `idempotent` or not: its output, when it succeeded in an earlier attempt of the run, so that
/// its tool is not called again.
#[inline]
pub fn replay<T: DeserializeOwned>(
    spec: &StepSpec,
    record: &mut StepRecord,
    idempotent: bool,
) -> Replayed<T> {
    if !journaled() {
        return Replayed::Run(None);
    }
    replay_slow(spec, spec.id.clone(), record, idempotent)
}

/// [`replay`] for call `item` of a `for` step, journaled as the step `<step>/<item>`: a resumed
/// run calls again only the calls of a fan-out that did not succeed.
#[inline]
pub fn replay_item<T: DeserializeOwned>(
    spec: &StepSpec,
    item: usize,
    record: &mut StepRecord,
    idempotent: bool,
) -> Replayed<T> {
    if !journaled() {
        return Replayed::Run(None);
    }
    replay_slow(spec, Cow::Owned(format!("{}/{item}", spec.id)), record, idempotent)
}

#[cold]
fn replay_slow<T: DeserializeOwned>(
    spec: &StepSpec,
    step: Cow<'static, str>,
    record: &mut StepRecord,
    idempotent: bool,
) -> Replayed<T> {
    let Some(slot) = current() else { return Replayed::Run(None) };
    let run = slot.run.clone();
    match slot.recorded(&step) {
        Some(Recorded::Finished { status: StepStatus::Succeeded, output }) => {
            let output = output.unwrap_or(Value::Null);
            let now = super::clock::now();
            record.started = Some(now);
            record.finished = Some(now);
            match serde_json::from_value::<T>(output) {
                Ok(output) => {
                    record.status = StepStatus::Succeeded;
                    record.replayed = true;
                    Replayed::Done(Ok(output))
                }
                Err(e) => {
                    let error = JournalError::Output { run, step: step.into_owned(), reason: e.to_string() };
                    Replayed::Done(super::fail(record, store_error(error)))
                }
            }
        }
        Some(Recorded::Started { key }) if !idempotent => {
            let error = JournalError::OutcomeUnknown {
                run,
                step: step.into_owned(),
                tool: spec.tool.to_string(),
                key,
            };
            Replayed::Done(super::fail(record, store_error(error)))
        }
        _ => Replayed::Run(Some(Box::new(StepJournal { slot, step, tool: spec.tool.clone() }))),
    }
}

impl StepJournal {
    /// Appends that the step's tool is about to be called; for a tool that is not `idempotent`,
    /// waits until that is durable. (A boxed future: the steps of runs without a journal do not
    /// carry its state.)
    pub fn started(
        &self,
        idempotent: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 'static>> {
        let key = key(&self.slot.run, &self.step);
        let entry = Entry::StepStarted {
            run: self.slot.run.clone(),
            step: self.step.to_string(),
            tool: self.tool.to_string(),
            key,
            idempotent,
            at_ms: now_ms(),
        };
        let durable = self.slot.append(entry);
        if idempotent {
            return Box::pin(std::future::ready(Ok(())));
        }
        Box::pin(async move { durable.await.map_err(store_error) })
    }

    /// Appends how the step ended (with its arguments, `args`, when known) and waits until that
    /// is durable, so that the steps that need it start only then. A journal that cannot write
    /// fails the step. (A boxed future, as [`started`](Self::started)'s.)
    pub fn settle<'a, T: Serialize + Send + 'a>(
        self,
        record: &'a mut StepRecord,
        result: Result<T, StepError>,
        args: Option<Value>,
    ) -> Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'a>> {
        let output = match &result {
            Ok(output) => Some(serde_json::to_value(output).unwrap_or(Value::Null)),
            Err(_) => None,
        };
        let now = super::clock::now();
        record.set_clock(now, super::clock::wall(now));
        let entry = Entry::StepFinished {
            run: self.slot.run.clone(),
            step: self.step.to_string(),
            tool: self.tool.to_string(),
            status: record.status,
            args,
            output,
            record: serde_json::to_value(&*record).unwrap_or(Value::Null),
            at_ms: now_ms(),
        };
        let durable = self.slot.append(entry);
        Box::pin(async move {
            match durable.await {
                Ok(()) => result,
                Err(error) => super::fail(record, store_error(error)),
            }
        })
    }
}

/// Appends how the compensation of a step ended (its `record`), in the run being polled: not
/// waited for, as the run's own end is not.
pub(crate) fn compensation_ended(record: &StepRecord) {
    if let Some(slot) = current() {
        drop(slot.append(Entry::CompensationFinished {
            run: slot.run.clone(),
            step: record.step.to_string(),
            tool: record.tool.to_string(),
            status: record.status,
            record: serde_json::to_value(record).unwrap_or(Value::Null),
            at_ms: now_ms(),
        }));
    }
}

/// Appends that the compensation of `step` undid it, in the run being polled.
pub(crate) fn compensated(step: &str) {
    if let Some(slot) = current() {
        // Not waited for: a resumed run that misses it calls the step again, as it would anyway
        // for a run that failed.
        drop(slot.append(Entry::StepCompensated {
            run: slot.run.clone(),
            step: step.to_owned(),
            at_ms: now_ms(),
        }));
    }
}

/// Appends the end of the run being polled; [`in_run_span`](super::in_run_span) waits until it
/// is durable before the run returns.
pub(crate) fn finished(record: &RunRecord) {
    let Some(slot) = current() else { return };
    let error = record.steps.iter().find(|s| s.status == StepStatus::Failed).and_then(|s| s.error.clone());
    let entry = Entry::RunFinished {
        run: slot.run.clone(),
        succeeded: record.succeeded(),
        cancelled: record.cancelled,
        error,
        tokens: record.tokens.clone(),
        at_ms: now_ms(),
    };
    let durable = slot.append(entry);
    if let Ok(mut state) = slot.state.lock() {
        state.closing = Some(durable);
    }
}

/// What the journal keeps of `values` (a run's inputs, a step's arguments): the values named in
/// `secrets` replaced by `"[REDACTED]"`.
pub fn redacted(values: &serde_json::Map<String, Value>, secrets: &[&str]) -> serde_json::Map<String, Value> {
    let mut values = values.clone();
    for name in secrets {
        if let Some(value) = values.get_mut(*name) {
            *value = Value::String(crate::secret::REDACTED.to_owned());
        }
    }
    values
}

/// The JSON of a step's inputs or arguments, for the journal: `null` for a value that does not
/// serialise. `workflow!` calls it as `(&&JsonOf(&value)).json()`, which picks the `Serialize`
/// implementation when there is one.
pub struct JsonOf<'a, T: ?Sized>(pub &'a T);

/// [`JsonOf`] of a value that serialises.
pub trait ViaSerialize {
    /// The value as JSON.
    fn json(&self) -> Value;
}

impl<T: Serialize + ?Sized> ViaSerialize for &JsonOf<'_, T> {
    fn json(&self) -> Value {
        serde_json::to_value(self.0).unwrap_or(Value::Null)
    }
}

/// [`JsonOf`] of a value that does not serialise.
pub trait ViaNothing {
    /// `null`.
    fn json(&self) -> Value;
}

impl<T: ?Sized> ViaNothing for JsonOf<'_, T> {
    fn json(&self) -> Value {
        Value::Null
    }
}
