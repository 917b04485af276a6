//! [`PostgresStore`]: the log in PostgreSQL, for runs shared by several processes or machines.

use std::pin::Pin;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls, Statement};
use workflow_runtime::journal::{Durable, Entry, Journal, JournalError, Replay, RunId};

use crate::StoreError;
use crate::ops::{Op, StepState, StoredRun, StoredStep, json, unsigned};

/// The schema, one migration per version: the two both stores share ([`crate::ops::MIGRATIONS`]),
/// then the queue's; `workflow_schema_version` says which are applied.
const MIGRATIONS: &[&str] = &[
    crate::ops::MIGRATIONS[0],
    crate::ops::MIGRATIONS[1],
    // 3: the queue of runs that workers take.
    "CREATE TABLE queue (
        run_id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        workflow TEXT NOT NULL,
        inputs TEXT NOT NULL,
        state TEXT NOT NULL,
        owner TEXT,
        leased_at_ms BIGINT,
        lease_until_ms BIGINT,
        attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        enqueued_at_ms BIGINT NOT NULL,
        finished_at_ms BIGINT
    );
    CREATE INDEX queue_ready ON queue (queue, state, enqueued_at_ms);
    CREATE TABLE queue_limits (
        queue TEXT PRIMARY KEY,
        max_leased BIGINT NOT NULL
    );",
    crate::ops::MIGRATIONS[2],
];

/// At most this many entries in one transaction.
const BATCH: usize = 1024;

/// The key of the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x776f_726b_666c_6f77; // "workflow"

/// Work for the writer task, done after the entries queued before it are written.
type Task =
    Box<dyn for<'c> FnOnce(&'c mut Client, &'c str) -> Pin<Box<dyn Future<Output = ()> + Send + 'c>> + Send>;

enum Msg {
    Append(Op, oneshot::Sender<Result<(), JournalError>>),
    Do(Task),
}

/// The execution log and journal in a PostgreSQL schema of its own.
///
/// A task of its own owns the connection: entries are queued without blocking the run, and those
/// that arrive together are written in one transaction. Several processes may use one schema
/// (each run is written by the process running it).
pub struct PostgresStore {
    name: String,
    sender: mpsc::UnboundedSender<Msg>,
}

/// The prepared statements of the writer.
struct Statements {
    run: Statement,
    start: Statement,
    finish: Statement,
    compensated: Statement,
    run_end: Statement,
}

impl PostgresStore {
    /// Connects with `config` (`host=127.0.0.1 user=postgres dbname=test`, or a
    /// `postgresql://` URL) to the schema `schema` (letters, digits and `_`), creating it and
    /// applying the migrations as needed. Must be called inside a tokio runtime, whose tasks
    /// then drive the connection.
    pub async fn connect(config: &str, schema: &str) -> Result<Self, StoreError> {
        let name = format!("postgres schema {schema}");
        let error =
            |e: tokio_postgres::Error| StoreError::Database { store: name.clone(), message: message(&e) };
        if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Database {
                store: name.clone(),
                message: "a schema name is letters, digits and `_`".to_owned(),
            });
        }
        let (mut client, connection) = tokio_postgres::connect(config, NoTls).await.map_err(error)?;
        let connection_name = name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(store = connection_name, error = %e, "the PostgreSQL connection ended");
            }
        });
        migrate(&mut client, schema, &name).await?;
        let statements = prepare(&client).await.map_err(error)?;
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(serve(client, statements, name.clone(), receiver));
        Ok(Self { name, sender })
    }

    /// The store's name, as `postgres schema <schema>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues `task` for the writer task, to run after what is queued; the future of its answer
    /// borrows nothing.
    pub(crate) fn ask<T, F>(&self, task: F) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut Client,
                &'c str,
            ) -> Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |client, name| {
            Box::pin(async move {
                let _ = reply.send(task(client, name).await);
            })
        });
        let sent = self.sender.send(Msg::Do(task)).is_ok();
        let name = self.name.clone();
        async move {
            if !sent {
                return Err(StoreError::Closed(name));
            }
            answer.await.map_err(|_| StoreError::Closed(name))?
        }
    }

    /// Every run, oldest first, with its steps.
    pub async fn runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        self.ask(|client, name| Box::pin(read(client, name, None))).await
    }

    /// The run `id`, with its steps.
    pub async fn run(&self, id: &RunId) -> Result<Option<StoredRun>, StoreError> {
        let id = id.to_string();
        let runs = self
            .ask(move |client, name| Box::pin(async move { read(client, name, Some(&id)).await }))
            .await?;
        Ok(runs.into_iter().next())
    }

    /// Writes every run as JSONL in the pattern miner's format ([`export_jsonl`](crate::export_jsonl)).
    pub async fn export_jsonl<W: std::io::Write>(&self, out: W) -> Result<usize, StoreError> {
        let runs = self.runs().await?;
        crate::export_jsonl(&runs, out)
            .map_err(|e| StoreError::Database { store: self.name.clone(), message: e.to_string() })
    }
}

impl Journal for PostgresStore {
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>> {
        Box::pin(async move { Ok(self.run(run).await?.map(|r| r.replay())) })
    }

    fn append(&self, entry: Entry) -> Durable {
        let op = Op::from(entry);
        let durable = op.durable();
        let (reply, answer) = oneshot::channel();
        let sent = self.sender.send(Msg::Append(op, reply)).is_ok();
        let name = self.name.clone();
        if sent && !durable {
            // Committed with the next write, and not waited for (see `Op::durable`).
            return Box::pin(std::future::ready(Ok(())));
        }
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed(name).into());
            }
            answer.await.map_err(|_| JournalError::from(StoreError::Closed(name)))?
        })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: serde_json::Value) -> Durable {
        let (run, signal, payload) = (run.to_string(), name.to_owned(), payload.to_string());
        let at = crate::ops::now_ms();
        let done = self.ask(move |client, name| {
            Box::pin(async move {
                client
                    .execute(
                        "INSERT INTO signals (run_id, name, payload, sent_at_ms) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (run_id, name) DO UPDATE SET payload = excluded.payload, sent_at_ms = excluded.sent_at_ms",
                        &[&run, &signal, &payload, &at],
                    )
                    .await
                    .map(drop)
                    .map_err(database(name))
            })
        });
        Box::pin(async move { done.await.map_err(JournalError::from) })
    }

    fn signal<'a>(
        &'a self,
        run: &'a RunId,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<serde_json::Value>, JournalError>> + Send + 'a>> {
        let (run, signal) = (run.to_string(), name.to_owned());
        Box::pin(async move {
            let payload = self
                .ask(move |client, name| {
                    Box::pin(async move {
                        client
                            .query_opt(
                                "SELECT payload FROM signals WHERE run_id = $1 AND name = $2",
                                &[&run, &signal],
                            )
                            .await
                            .map(|row| row.map(|r| r.get::<_, String>(0)))
                            .map_err(database(name))
                    })
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
                .ask(move |client, name| {
                    Box::pin(async move {
                        client
                            .execute(
                                "INSERT INTO waits (run_id, key, began_at_ms) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO NOTHING",
                                &[&run, &key, &now],
                            )
                            .await
                            .map_err(database(name))?;
                        let row = client
                            .query_one("SELECT began_at_ms FROM waits WHERE run_id = $1 AND key = $2", &[&run, &key])
                            .await
                            .map_err(database(name))?;
                        Ok(row.get::<_, i64>(0))
                    })
                })
                .await?;
            Ok(unsigned(Some(began)).unwrap_or(0))
        })
    }
}

pub(crate) fn database(name: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Database { store: name.to_owned(), message: message(&e) }
}

/// What PostgreSQL said (its message, and the detail if any), or the client's error.
fn message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_owned(),
        },
        None => error.to_string(),
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("name", &self.name).finish_non_exhaustive()
    }
}

async fn migrate(client: &mut Client, schema: &str, name: &str) -> Result<(), StoreError> {
    let error =
        |e: tokio_postgres::Error| StoreError::Database { store: name.to_owned(), message: message(&e) };
    let tx = client.transaction().await.map_err(error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(error)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE IF NOT EXISTS workflow_schema_version (version BIGINT NOT NULL);"
    ))
    .await
    .map_err(error)?;
    let version: i64 = tx
        .query_opt("SELECT version FROM workflow_schema_version", &[])
        .await
        .map_err(error)?
        .map_or(0, |row| row.get(0));
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(StoreError::NewerSchema { store: name.to_owned(), found: version, known });
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
        tx.batch_execute(migration).await.map_err(error)?;
    }
    tx.batch_execute(&format!(
        "DELETE FROM workflow_schema_version; INSERT INTO workflow_schema_version VALUES ({known});"
    ))
    .await
    .map_err(error)?;
    tx.commit().await.map_err(error)?;
    // The session's later statements name the schema's tables without it.
    client.batch_execute(&format!("SET search_path TO \"{schema}\"")).await.map_err(error)
}

async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
    const NEXT_SEQ: &str = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = $1)";
    Ok(Statements {
        run: client
            .prepare(
                "INSERT INTO runs (run_id, workflow, definition_hash, definition, inputs, status, started_at_ms)
                 VALUES ($1, $2, $3, $4, $5, 'running', $6) ON CONFLICT (run_id) DO NOTHING",
            )
            .await?,
        start: client
            .prepare(&format!(
                "INSERT INTO steps (run_id, step, seq, tool, state, idempotency_key, started_at_ms)
                 VALUES ($1, $2, {NEXT_SEQ}, $3, 'running', $4, $5)
                 ON CONFLICT (run_id, step) DO UPDATE SET
                    state = 'running', tool = excluded.tool, idempotency_key = excluded.idempotency_key"
            ))
            .await?,
        finish: client
            .prepare(&format!(
                "INSERT INTO steps (run_id, step, seq, tool, state, args, output, record, error, started_at_ms, finished_at_ms)
                 VALUES ($1, $2, {NEXT_SEQ}, $3, $4, $5, $6, $7, $8, $9, $9)
                 ON CONFLICT (run_id, step) DO UPDATE SET
                    state = excluded.state, tool = excluded.tool,
                    args = COALESCE(excluded.args, steps.args), output = excluded.output,
                    record = COALESCE(excluded.record, steps.record), error = excluded.error,
                    finished_at_ms = excluded.finished_at_ms"
            ))
            .await?,
        compensated: client
            .prepare("UPDATE steps SET state = 'compensated' WHERE run_id = $1 AND step = $2")
            .await?,
        run_end: client
            .prepare("UPDATE runs SET status = $2, error = $3, finished_at_ms = $4, tokens = $5 WHERE run_id = $1")
            .await?,
    })
}

/// The writer: batches of entries in one transaction each; queries answered in order, after the
/// entries queued before them are written.
async fn serve(
    mut client: Client,
    statements: Statements,
    name: String,
    mut receiver: mpsc::UnboundedReceiver<Msg>,
) {
    while let Some(first) = receiver.recv().await {
        let mut pending: Vec<(Op, oneshot::Sender<Result<(), JournalError>>)> = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Append(op, reply) => pending.push((op, reply)),
                Msg::Do(task) => {
                    write(&mut client, &statements, &name, &mut pending).await;
                    task(&mut client, &name).await;
                }
            }
            if pending.len() < BATCH {
                next = receiver.try_recv().ok();
                // Writes no run waits for (the starts of idempotent steps) wait a moment for one
                // it does, to share its commit.
                if next.is_none() && !pending.is_empty() && !pending.iter().any(|(op, _)| op.durable()) {
                    next = tokio::time::timeout(crate::ops::LINGER, receiver.recv()).await.ok().flatten();
                }
            }
        }
        write(&mut client, &statements, &name, &mut pending).await;
    }
}

/// Writes `pending` in one transaction, its statements pipelined (sent without waiting for each
/// answer), and tells each waiting step. A batch of writes no run waits for (the starts of
/// idempotent steps) is committed without waiting for the disk (`synchronous_commit = off`); the
/// next durable commit flushes it.
async fn write(
    client: &mut Client,
    statements: &Statements,
    name: &str,
    pending: &mut Vec<(Op, oneshot::Sender<Result<(), JournalError>>)>,
) {
    if pending.is_empty() {
        return;
    }
    let durable = pending.iter().any(|(op, _)| op.durable());
    let client = &*client;
    let begin =
        client.batch_execute(if durable { "BEGIN" } else { "BEGIN; SET LOCAL synchronous_commit = off" });
    let ops = futures::future::join_all(pending.iter().map(|(op, _)| apply(client, statements, op)));
    let commit = client.batch_execute("COMMIT");
    let (begun, applied, committed) = tokio::join!(begin, ops, commit);
    let mut result = begun.and(applied.into_iter().try_for_each(|r| r.map(drop)));
    // A failed statement aborts the transaction, and `COMMIT` then rolls it back.
    result = result.and(committed);
    let result = result.map_err(|e| JournalError::from(database(name)(e)));
    if let Err(error) = &result {
        tracing::error!(store = name, %error, entries = pending.len(), "journal entries could not be written");
        let _ = client.batch_execute("ROLLBACK").await;
    }
    for (_, reply) in pending.drain(..) {
        let _ = reply.send(result.clone());
    }
}

async fn apply(client: &Client, s: &Statements, op: &Op) -> Result<u64, tokio_postgres::Error> {
    match op {
        Op::Run { run, workflow, hash, definition, inputs, at } => {
            client.execute(&s.run, &[run, workflow, hash, definition, inputs, at]).await
        }
        Op::Start { run, step, tool, key, at, .. } => {
            client.execute(&s.start, &[run, step, tool, key, at]).await
        }
        Op::Finish { run, step, tool, state, args, output, record, error, at, .. } => {
            client.execute(&s.finish, &[run, step, tool, state, args, output, record, error, at]).await
        }
        Op::Compensated { run, step } => client.execute(&s.compensated, &[run, step]).await,
        Op::RunEnd { run, status, error, tokens, at } => {
            client.execute(&s.run_end, &[run, status, error, at, tokens]).await
        }
    }
}

async fn read(client: &Client, name: &str, run: Option<&str>) -> Result<Vec<StoredRun>, StoreError> {
    let error =
        |e: tokio_postgres::Error| StoreError::Database { store: name.to_owned(), message: message(&e) };
    let columns = "run_id, workflow, definition_hash, definition, inputs, status, error, started_at_ms, finished_at_ms, tokens";
    let rows = match run {
        Some(id) => client.query(&format!("SELECT {columns} FROM runs WHERE run_id = $1"), &[&id]).await,
        None => {
            client.query(&format!("SELECT {columns} FROM runs ORDER BY started_at_ms, run_id"), &[]).await
        }
    }
    .map_err(error)?;
    let steps_query = client
        .prepare(
            "SELECT step, seq, tool, state, idempotency_key, args, output, record, error, started_at_ms, finished_at_ms
             FROM steps WHERE run_id = $1 ORDER BY seq",
        )
        .await
        .map_err(error)?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let run_id: String = row.get(0);
        let corrupt =
            |message: String| StoreError::Corrupt { store: name.to_owned(), run: run_id.clone(), message };
        let mut steps = Vec::new();
        for r in client.query(&steps_query, &[&run_id]).await.map_err(error)? {
            let (step, state): (String, String) = (r.get(0), r.get(3));
            steps.push(StoredStep {
                seq: unsigned(Some(r.get(1))).unwrap_or(0),
                tool: r.get(2),
                state: StepState::parse(&state)
                    .ok_or_else(|| corrupt(format!("step `{step}` has the unknown state `{state}`")))?,
                idempotency_key: r.get(4),
                args: json(r.get(5), "arguments").map_err(&corrupt)?,
                output: json(r.get(6), "output").map_err(&corrupt)?,
                record: json(r.get(7), "record").map_err(&corrupt)?,
                error: r.get(8),
                started_at_ms: unsigned(r.get(9)),
                finished_at_ms: unsigned(r.get(10)),
                step,
            });
        }
        let tokens = match json(row.get(9), "tokens").map_err(&corrupt)? {
            Some(t) => Some(serde_json::from_value(t).map_err(|e| corrupt(format!("its tokens: {e}")))?),
            None => None,
        };
        runs.push(StoredRun {
            workflow: row.get(1),
            definition_hash: row.get(2),
            definition: json(Some(row.get(3)), "definition").map_err(&corrupt)?.unwrap_or_default(),
            inputs: json(Some(row.get(4)), "inputs").map_err(&corrupt)?.unwrap_or_default(),
            status: row.get(5),
            error: row.get(6),
            started_at_ms: unsigned(Some(row.get(7))).unwrap_or(0),
            finished_at_ms: unsigned(row.get(8)),
            tokens,
            steps,
            run_id,
        });
    }
    Ok(runs)
}
