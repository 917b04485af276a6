//! [`SqliteStore`]: the log in one SQLite file, group-committed by the steps themselves.

use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::oneshot;
use workflow_runtime::journal::{Durable, Entry, Journal, JournalError, Replay, RunId};

use crate::StoreError;
use crate::ops::{Op, StepState, StoredRun, StoredStep, json, unsigned};

/// The schema, one migration per version ([`crate::ops::MIGRATIONS`], which PostgreSQL
/// shares): `PRAGMA user_version` says which are applied.
const MIGRATIONS: &[&str] = crate::ops::MIGRATIONS;

/// A queued write, and who waits for it (nobody, for the start of an idempotent step).
type Queued = (Op, Option<oneshot::Sender<Result<(), JournalError>>>);

/// What the store's handles share: the connection, and the writes queued for it.
struct Shared {
    name: String,
    connection: Mutex<Connection>,
    queue: Mutex<Vec<Queued>>,
    /// Set when writes nobody waits for are queued, and when the store closes: what the
    /// flusher thread waits for.
    lazy: Mutex<Lazy>,
    wake: Condvar,
}

#[derive(Default)]
struct Lazy {
    queued: bool,
    closed: bool,
}

/// The execution log and journal in a SQLite file (bundled SQLite: nothing to install).
///
/// Writes are group-committed: a step's end is queued, and the first step to find the file free
/// writes everything queued in one transaction, its own and the others' (so steps ending
/// together share a commit), on the calling thread, with no hand-off to another thread. The
/// start of an idempotent step, which no run waits for, waits a moment (`2 ms`) to share the
/// commit of the next write, or is written by a thread of the store's own. The file is in WAL mode
/// with `synchronous = NORMAL`: a committed entry survives the process being killed; for it to
/// survive a power cut as well, open it with [`SqliteStore::open_synchronous`].
///
/// A commit holds the calling thread for as long as SQLite takes (tens of microseconds; up to
/// the 10 s busy timeout while another process holds the file's write lock). Dropping the store
/// writes what is queued, then closes the file.
pub struct SqliteStore {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`, applying the schema's migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), false)
    }

    /// [`open`](Self::open), with `synchronous = FULL`: each transaction is on the disk before
    /// the steps waiting for it go on.
    pub fn open_synchronous(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), true)
    }

    fn open_with(path: &Path, full: bool) -> Result<Self, StoreError> {
        let name = format!("sqlite {}", path.display());
        let error = |e: rusqlite::Error| StoreError::Database { store: name.clone(), message: e.to_string() };
        let mut connection = Connection::open(path).map_err(error)?;
        let synchronous = if full { "FULL" } else { "NORMAL" };
        connection
            .execute_batch(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
            ))
            .map_err(error)?;
        migrate(&mut connection, &name)?;
        let shared = Arc::new(Shared {
            name: name.clone(),
            connection: Mutex::new(connection),
            queue: Mutex::new(Vec::new()),
            lazy: Mutex::new(Lazy::default()),
            wake: Condvar::new(),
        });
        let background = shared.clone();
        let flusher = std::thread::Builder::new()
            .name("workflow-store-sqlite".to_owned())
            .spawn(move || background.flush_lazily())
            .map_err(|e| StoreError::Database { store: name.clone(), message: e.to_string() })?;
        Ok(Self { shared, flusher: Some(flusher) })
    }

    /// The path the store was opened with, as `sqlite <path>`.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Runs `task` with the connection, after the writes queued before it.
    async fn ask<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Connection, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.shared.with_connection(task)
    }

    /// Every run, oldest first, with its steps.
    pub async fn runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        self.ask(|connection, name| read(connection, name, None)).await
    }

    /// The run `id`, with its steps.
    pub async fn run(&self, id: &RunId) -> Result<Option<StoredRun>, StoreError> {
        let id = id.to_string();
        let runs = self.ask(move |connection, name| read(connection, name, Some(&id))).await?;
        Ok(runs.into_iter().next())
    }

    /// Writes every run as JSONL in the pattern miner's format ([`export_jsonl`](crate::export_jsonl)).
    pub async fn export_jsonl<W: std::io::Write>(&self, out: W) -> Result<usize, StoreError> {
        let runs = self.runs().await?;
        crate::export_jsonl(&runs, out)
            .map_err(|e| StoreError::Database { store: self.shared.name.clone(), message: e.to_string() })
    }
}

impl Shared {
    fn lock_connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave the connection inconsistent: SQLite
        // rolls back the transaction it did not commit.
        self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take_queue(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Writes what is queued. A thread already writing is waited for (the lock is never held
    /// across an `await`, only for one commit), and what it wrote is not written again: when it
    /// took this call's write along, the queue is empty by the time the lock is had.
    fn flush(&self) {
        let mut connection = self.lock_connection();
        let batch = self.take_queue();
        write(&mut connection, &self.name, batch);
    }

    /// Runs `task` with the connection, after writing what is queued.
    fn with_connection<T>(
        &self,
        task: impl FnOnce(&mut Connection, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.lock_connection();
        let batch = self.take_queue();
        write(&mut connection, &self.name, batch);
        let result = task(&mut connection, &self.name);
        // What was queued while the task ran.
        let batch = self.take_queue();
        write(&mut connection, &self.name, batch);
        result
    }

    fn queue(&self, op: Op, reply: Option<oneshot::Sender<Result<(), JournalError>>>) {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((op, reply));
    }

    /// The flusher thread: writes nobody waits for are written a moment after they are queued,
    /// if no other write took them along.
    fn flush_lazily(&self) {
        loop {
            let mut lazy = self.lazy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            while !lazy.queued && !lazy.closed {
                lazy = self.wake.wait(lazy).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            let closed = lazy.closed;
            lazy.queued = false;
            drop(lazy);
            if closed {
                return;
            }
            std::thread::sleep(crate::ops::LINGER);
            self.flush();
        }
    }
}

impl Journal for SqliteStore {
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>> {
        Box::pin(async move { Ok(self.run(run).await?.map(|r| r.replay())) })
    }

    fn append(&self, entry: Entry) -> Durable {
        let op = Op::from(entry);
        if !op.durable() {
            self.shared.queue(op, None);
            if let Ok(mut lazy) = self.shared.lazy.lock() {
                lazy.queued = true;
            }
            self.shared.wake.notify_one();
            return Box::pin(std::future::ready(Ok(())));
        }
        let (reply, answer) = oneshot::channel();
        self.shared.queue(op, Some(reply));
        self.shared.flush();
        let name = self.shared.name.clone();
        Box::pin(async move { answer.await.map_err(|_| JournalError::from(StoreError::Closed(name)))? })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: serde_json::Value) -> Durable {
        let (run, signal, payload) = (run.to_string(), name.to_owned(), payload.to_string());
        let at = crate::ops::now_ms();
        let done = self.shared.with_connection(move |connection, name| {
            connection
                .execute(
                    "INSERT INTO signals (run_id, name, payload, sent_at_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (run_id, name) DO UPDATE SET payload = excluded.payload, sent_at_ms = excluded.sent_at_ms",
                    params![run, signal, payload, at],
                )
                .map(drop)
                .map_err(database(name))
        });
        Box::pin(std::future::ready(done.map_err(JournalError::from)))
    }

    fn signal<'a>(
        &'a self,
        run: &'a RunId,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<serde_json::Value>, JournalError>> + Send + 'a>> {
        let (run, signal) = (run.to_string(), name.to_owned());
        Box::pin(async move {
            let payload = self
                .ask(move |connection, name| {
                    connection
                        .query_row(
                            "SELECT payload FROM signals WHERE run_id = ?1 AND name = ?2",
                            params![run, signal],
                            |r| r.get::<_, String>(0),
                        )
                        .optional()
                        .map_err(database(name))
                })
                .await?;
            json(payload, "signal").map_err(JournalError::Store)
        })
    }

    fn wait_began<'a>(
        &'a self,
        run: &'a RunId,
        key: &'a str,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = Result<u64, JournalError>> + Send + 'a>> {
        let (run, key) = (run.to_string(), key.to_owned());
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        Box::pin(async move {
            let began = self
                .ask(move |connection, name| {
                    connection
                        .execute(
                            "INSERT INTO waits (run_id, key, began_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT (run_id, key) DO NOTHING",
                            params![run, key, now],
                        )
                        .and_then(|_| {
                            connection.query_row(
                                "SELECT began_at_ms FROM waits WHERE run_id = ?1 AND key = ?2",
                                params![run, key],
                                |r| r.get::<_, i64>(0),
                            )
                        })
                        .map_err(database(name))
                })
                .await?;
            Ok(unsigned(Some(began)).unwrap_or(0))
        })
    }
}

fn database(name: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Database { store: name.to_owned(), message: e.to_string() }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Ok(mut lazy) = self.shared.lazy.lock() {
            lazy.closed = true;
        }
        self.shared.wake.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        // What is still queued.
        let _ = self.shared.with_connection(|_, _| Ok(()));
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("name", &self.shared.name).finish_non_exhaustive()
    }
}

fn migrate(connection: &mut Connection, name: &str) -> Result<(), StoreError> {
    let error = |e: rusqlite::Error| StoreError::Database { store: name.to_owned(), message: e.to_string() };
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(error)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(error)?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(StoreError::NewerSchema { store: name.to_owned(), found: version, known });
    }
    if version == known {
        return Ok(());
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
        tx.execute_batch(migration).map_err(error)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {known}")).map_err(error)?;
    tx.commit().map_err(error)
}

/// The writer: batches of entries in one transaction each; queries answered in order, after the
/// entries queued before them are written.
/// Writes `batch` in one transaction and tells each waiting step.
fn write(connection: &mut Connection, name: &str, batch: Vec<Queued>) {
    if batch.is_empty() {
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        let tx = connection.transaction()?;
        for (op, _) in &batch {
            apply(&tx, op)?;
        }
        tx.commit()
    })();
    let result = result.map_err(|e| {
        JournalError::from(StoreError::Database { store: name.to_owned(), message: e.to_string() })
    });
    if let Err(error) = &result {
        tracing::error!(store = name, %error, entries = batch.len(), "journal entries could not be written");
    }
    for (_, reply) in batch {
        if let Some(reply) = reply {
            let _ = reply.send(result.clone());
        }
    }
}

/// The statements of the writes, prepared once per connection (`prepare_cached`).
const INSERT_RUN: &str =
    "INSERT INTO runs (run_id, workflow, definition_hash, definition, inputs, status, started_at_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6) ON CONFLICT (run_id) DO NOTHING";
const START_STEP: &str = "INSERT INTO steps (run_id, step, seq, tool, state, idempotency_key, started_at_ms)
     VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = ?1), ?3, 'running', ?4, ?5)
     ON CONFLICT (run_id, step) DO UPDATE SET
        state = 'running', tool = excluded.tool, idempotency_key = excluded.idempotency_key";
const FINISH_STEP: &str = "INSERT INTO steps
        (run_id, step, seq, tool, state, args, output, record, error, started_at_ms, finished_at_ms)
     VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
     ON CONFLICT (run_id, step) DO UPDATE SET
        state = excluded.state, tool = excluded.tool,
        args = COALESCE(excluded.args, steps.args), output = excluded.output,
        record = COALESCE(excluded.record, steps.record), error = excluded.error,
        finished_at_ms = excluded.finished_at_ms";
const COMPENSATE_STEP: &str = "UPDATE steps SET state = 'compensated' WHERE run_id = ?1 AND step = ?2";
const END_RUN: &str =
    "UPDATE runs SET status = ?2, error = ?3, finished_at_ms = ?4, tokens = ?5 WHERE run_id = ?1";

fn apply(tx: &rusqlite::Transaction<'_>, op: &Op) -> rusqlite::Result<()> {
    match op {
        Op::Run { run, workflow, hash, definition, inputs, at } => {
            tx.prepare_cached(INSERT_RUN)?.execute(params![run, workflow, hash, definition, inputs, at])
        }
        Op::Start { run, step, tool, key, at, .. } => {
            tx.prepare_cached(START_STEP)?.execute(params![run, step, tool, key, at])
        }
        Op::Finish { run, step, tool, state, args, output, record, error, at, .. } => tx
            .prepare_cached(FINISH_STEP)?
            .execute(params![run, step, tool, state, args, output, record, error, at]),
        Op::Compensated { run, step } => tx.prepare_cached(COMPENSATE_STEP)?.execute(params![run, step]),
        Op::RunEnd { run, status, error, tokens, at } => {
            tx.prepare_cached(END_RUN)?.execute(params![run, status, error, at, tokens])
        }
    }
    .map(drop)
}

type RunRow =
    (String, String, String, String, String, String, Option<String>, i64, Option<i64>, Option<String>);

fn read(connection: &Connection, name: &str, run: Option<&str>) -> Result<Vec<StoredRun>, StoreError> {
    let error = |e: rusqlite::Error| StoreError::Database { store: name.to_owned(), message: e.to_string() };
    let columns = "run_id, workflow, definition_hash, definition, inputs, status, error, started_at_ms, finished_at_ms, tokens";
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<RunRow> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
        ))
    };
    let rows: Vec<RunRow> = match run {
        Some(id) => connection
            .prepare_cached(&format!("SELECT {columns} FROM runs WHERE run_id = ?1"))
            .and_then(|mut statement| statement.query_row([id], row))
            .optional()
            .map_err(error)?
            .into_iter()
            .collect(),
        None => {
            let mut statement = connection
                .prepare(&format!("SELECT {columns} FROM runs ORDER BY started_at_ms, run_id"))
                .map_err(error)?;
            statement.query_map([], row).map_err(error)?.collect::<Result<_, _>>().map_err(error)?
        }
    };
    let mut statement = connection
        .prepare_cached(
            "SELECT step, seq, tool, state, idempotency_key, args, output, record, error, started_at_ms, finished_at_ms
             FROM steps WHERE run_id = ?1 ORDER BY seq",
        )
        .map_err(error)?;
    let mut runs = Vec::with_capacity(rows.len());
    for (run_id, workflow, hash, definition, inputs, status, run_error, started, finished, tokens) in rows {
        let corrupt =
            |message: String| StoreError::Corrupt { store: name.to_owned(), run: run_id.clone(), message };
        let mut steps = Vec::new();
        let mut query = statement.query([&run_id]).map_err(error)?;
        while let Some(r) = query.next().map_err(error)? {
            let state: String = r.get(3).map_err(error)?;
            let step: String = r.get(0).map_err(error)?;
            steps.push(StoredStep {
                seq: unsigned(r.get(1).map_err(error)?).unwrap_or(0),
                tool: r.get(2).map_err(error)?,
                state: StepState::parse(&state)
                    .ok_or_else(|| corrupt(format!("step `{step}` has the unknown state `{state}`")))?,
                idempotency_key: r.get(4).map_err(error)?,
                args: json(r.get(5).map_err(error)?, "arguments").map_err(&corrupt)?,
                output: json(r.get(6).map_err(error)?, "output").map_err(&corrupt)?,
                record: json(r.get(7).map_err(error)?, "record").map_err(&corrupt)?,
                error: r.get(8).map_err(error)?,
                started_at_ms: unsigned(r.get(9).map_err(error)?),
                finished_at_ms: unsigned(r.get(10).map_err(error)?),
                step,
            });
        }
        let tokens = match json(tokens, "tokens").map_err(&corrupt)? {
            Some(t) => Some(serde_json::from_value(t).map_err(|e| corrupt(format!("its tokens: {e}")))?),
            None => None,
        };
        runs.push(StoredRun {
            definition: json(Some(definition), "definition").map_err(&corrupt)?.unwrap_or_default(),
            inputs: json(Some(inputs), "inputs").map_err(&corrupt)?.unwrap_or_default(),
            run_id,
            workflow,
            definition_hash: hash,
            status,
            error: run_error,
            started_at_ms: unsigned(Some(started)).unwrap_or(0),
            finished_at_ms: unsigned(finished),
            tokens,
            steps,
        });
    }
    Ok(runs)
}
