//! Runs queued in PostgreSQL and taken by workers, on one machine or several.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use workflow_runtime::journal::{Journal, RunId};

use crate::StoreError;
use crate::ops::now_ms;
use crate::postgres::{PostgresStore, database};

/// How a queued run ended, as [`PostgresStore::result`] tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum QueuedResult {
    /// The run succeeded, with this output.
    Succeeded(Value),
    /// The run failed, with this error.
    Failed(String),
}

/// A run a worker took from its queue, handed to the worker's handler.
#[derive(Clone)]
pub struct QueuedRun {
    /// The run's id: run it with `RunContext::with_journal(run.journal, run.run_id)`, so that a
    /// run taken over from a worker that died resumes where it stopped.
    pub run_id: RunId,
    /// The workflow to run.
    pub workflow: String,
    /// Its inputs, as enqueued.
    pub inputs: Value,
    /// The store, as the run's journal.
    pub journal: Arc<dyn Journal>,
    /// How many times a worker has taken the run (1 the first time).
    pub attempt: u32,
    /// Cancelled when the worker loses the run's lease (another worker took it over): pass it
    /// to `RunContext::with_cancellation`.
    pub lost: CancellationToken,
}

impl std::fmt::Debug for QueuedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedRun")
            .field("run_id", &self.run_id)
            .field("workflow", &self.workflow)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// What a worker does with a run it took: its output, or why it failed.
pub type Handler =
    Arc<dyn Fn(QueuedRun) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync>;

impl PostgresStore {
    /// Queues a run of `workflow` with `inputs` on `queue`, for any worker of that queue, in
    /// this process or another: its id.
    pub async fn enqueue(&self, queue: &str, workflow: &str, inputs: Value) -> Result<RunId, StoreError> {
        let run = RunId::random();
        let (id, queue, workflow, inputs) =
            (run.to_string(), queue.to_owned(), workflow.to_owned(), inputs.to_string());
        self.ask(move |client, name| {
            Box::pin(async move {
                client
                    .execute(
                        "INSERT INTO queue (run_id, queue, workflow, inputs, state, enqueued_at_ms) VALUES ($1, $2, $3, $4, 'queued', $5)",
                        &[&id, &queue, &workflow, &inputs, &now_ms()],
                    )
                    .await
                    .map(drop)
                    .map_err(database(name))
            })
        })
        .await?;
        Ok(run)
    }

    /// Sets how many runs of `queue` may be taken at once, by all its workers together.
    pub async fn limit_queue(&self, queue: &str, max_leased: u32) -> Result<(), StoreError> {
        let (queue, max) = (queue.to_owned(), i64::from(max_leased));
        self.ask(move |client, name| {
            Box::pin(async move {
                client
                    .execute(
                        "INSERT INTO queue_limits (queue, max_leased) VALUES ($1, $2)
                         ON CONFLICT (queue) DO UPDATE SET max_leased = excluded.max_leased",
                        &[&queue, &max],
                    )
                    .await
                    .map(drop)
                    .map_err(database(name))
            })
        })
        .await
    }

    /// How the queued run `run` ended, or `None` while it waits or runs.
    pub async fn result(&self, run: &RunId) -> Result<Option<QueuedResult>, StoreError> {
        let id = run.to_string();
        let row = self
            .ask(move |client, name| {
                Box::pin(async move {
                    client
                        .query_opt("SELECT state, result, error FROM queue WHERE run_id = $1", &[&id])
                        .await
                        .map(|row| {
                            row.map(|r| {
                                (
                                    r.get::<_, String>(0),
                                    r.get::<_, Option<String>>(1),
                                    r.get::<_, Option<String>>(2),
                                )
                            })
                        })
                        .map_err(database(name))
                })
            })
            .await?;
        Ok(match row {
            Some((state, result, _)) if state == "succeeded" => Some(QueuedResult::Succeeded(
                result.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Value::Null),
            )),
            Some((state, _, error)) if state == "failed" => {
                Some(QueuedResult::Failed(error.unwrap_or_default()))
            }
            _ => None,
        })
    }

    /// Waits until the queued run `run` has ended, asking every `poll`.
    pub async fn wait_result(&self, run: &RunId, poll: Duration) -> Result<QueuedResult, StoreError> {
        loop {
            if let Some(result) = self.result(run).await? {
                return Ok(result);
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// A worker: takes runs from a queue (`FOR UPDATE SKIP LOCKED`, so workers never take the same
/// run), holds a lease on each while it runs it and renews it, and takes over the runs whose
/// lease expired (their worker died): they resume from the journal, without calling again the
/// steps that completed.
pub struct Worker {
    store: Arc<PostgresStore>,
    queue: String,
    id: String,
    lease: Duration,
    poll: Duration,
    concurrency: usize,
}

impl Worker {
    /// A worker of `queue` in `store`: a lease of 10 s, asking for work every 100 ms, at most 8
    /// runs at once.
    pub fn new(store: Arc<PostgresStore>, queue: &str) -> Self {
        Self {
            store,
            queue: queue.to_owned(),
            id: format!("worker-{}-{}", std::process::id(), RunId::random().as_str().get(..8).unwrap_or("")),
            lease: Duration::from_secs(10),
            poll: Duration::from_millis(100),
            concurrency: 8,
        }
    }

    /// How long a run stays this worker's without a renewal: the time after which another
    /// worker takes over the runs of a worker that died. Renewed every third of it.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(30));
        self
    }

    /// How often to ask for work when there was none.
    #[must_use]
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// At most `n` runs at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The worker's id, as the queue records who holds a run.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes and runs work with `handler` until `stop` is cancelled; then waits for the runs in
    /// hand to end.
    pub async fn run(self, handler: Handler, stop: CancellationToken) -> Result<(), StoreError> {
        let mut running: tokio::task::JoinSet<(RunId, Result<Value, String>)> = tokio::task::JoinSet::new();
        let mut held: HashMap<RunId, CancellationToken> = HashMap::new();
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let free = self.concurrency.saturating_sub(running.len());
            let mut took = 0;
            if free > 0 && !stop.is_cancelled() {
                for run in self.claim(free).await? {
                    took += 1;
                    let (handler, id) = (handler.clone(), run.run_id.clone());
                    held.insert(id.clone(), run.lost.clone());
                    running.spawn(async move { (id, handler(run).await) });
                }
            }
            if stop.is_cancelled() && running.is_empty() {
                return Ok(());
            }
            let idle = if took == 0 { self.poll } else { Duration::ZERO };
            tokio::select! {
                Some(done) = running.join_next() => {
                    let (run, result) = match done {
                        Ok(done) => done,
                        Err(panic) => {
                            tracing::error!(worker = %self.id, error = %panic, "a run's task panicked");
                            continue;
                        }
                    };
                    held.remove(&run);
                    self.complete(&run, result).await?;
                }
                _ = renew.tick() => self.renew(&mut held).await?,
                () = tokio::time::sleep(idle) => {}
                () = stop.cancelled(), if !stop.is_cancelled() => {}
            }
        }
    }

    /// Leases up to `n` runs: queued ones, and those whose lease expired, oldest first, within
    /// the queue's limit.
    async fn claim(&self, n: usize) -> Result<Vec<QueuedRun>, StoreError> {
        let (queue, owner) = (self.queue.clone(), self.id.clone());
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = self
            .store
            .ask(move |client, name| {
                Box::pin(async move {
                    let error = database(name);
                    let tx = client.transaction().await.map_err(&error)?;
                    let now = now_ms();
                    // Claims of one queue are taken one at a time, so its limit holds.
                    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&queue]).await.map_err(&error)?;
                    let limit = tx
                        .query_opt("SELECT max_leased FROM queue_limits WHERE queue = $1", &[&queue])
                        .await
                        .map_err(&error)?
                        .map(|r| r.get::<_, i64>(0));
                    let mut n = n;
                    if let Some(limit) = limit {
                        let leased: i64 = tx
                            .query_one(
                                "SELECT count(*) FROM queue WHERE queue = $1 AND state = 'leased' AND lease_until_ms >= $2",
                                &[&queue, &now],
                            )
                            .await
                            .map_err(&error)?
                            .get(0);
                        n = n.min((limit - leased).max(0));
                    }
                    let rows = tx
                        .query(
                            "WITH ready AS (
                                SELECT run_id FROM queue
                                WHERE queue = $1 AND (state = 'queued' OR (state = 'leased' AND lease_until_ms < $3))
                                ORDER BY enqueued_at_ms LIMIT $5 FOR UPDATE SKIP LOCKED
                             )
                             UPDATE queue q SET state = 'leased', owner = $2, leased_at_ms = $3,
                                lease_until_ms = $3::bigint + $4::bigint, attempts = q.attempts + 1
                             FROM ready WHERE q.run_id = ready.run_id
                             RETURNING q.run_id, q.workflow, q.inputs, q.attempts",
                            &[&queue, &owner, &now, &lease, &n],
                        )
                        .await
                        .map_err(&error)?;
                    tx.commit().await.map_err(&error)?;
                    Ok(rows
                        .into_iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2), r.get::<_, i32>(3)))
                        .collect::<Vec<_>>())
                })
            })
            .await?;
        let journal: Arc<dyn Journal> = self.store.clone();
        Ok(rows
            .into_iter()
            .map(|(id, workflow, inputs, attempts)| QueuedRun {
                run_id: RunId::from(id),
                workflow,
                inputs: serde_json::from_str(&inputs).unwrap_or(Value::Null),
                journal: journal.clone(),
                attempt: u32::try_from(attempts).unwrap_or(0),
                lost: CancellationToken::new(),
            })
            .collect())
    }

    /// Renews the leases of the runs in hand; a run whose lease another worker took is told so.
    async fn renew(&self, held: &mut HashMap<RunId, CancellationToken>) -> Result<(), StoreError> {
        if held.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = held.keys().map(ToString::to_string).collect();
        let (owner, lease) = (self.id.clone(), i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX));
        let kept: Vec<String> = self
            .store
            .ask(move |client, name| {
                Box::pin(async move {
                    let rows = client
                        .query(
                            "UPDATE queue SET lease_until_ms = $3::bigint + $4::bigint
                             WHERE run_id = ANY($1) AND owner = $2 AND state = 'leased' RETURNING run_id",
                            &[&ids, &owner, &now_ms(), &lease],
                        )
                        .await
                        .map_err(database(name))?;
                    Ok(rows.into_iter().map(|r| r.get::<_, String>(0)).collect())
                })
            })
            .await?;
        for (run, lost) in held.iter() {
            if !kept.iter().any(|k| k == run.as_str()) {
                tracing::warn!(worker = %self.id, %run, "the run's lease was taken over; stopping it here");
                lost.cancel();
            }
        }
        Ok(())
    }

    /// Records how a run in hand ended, if it is still this worker's.
    async fn complete(&self, run: &RunId, result: Result<Value, String>) -> Result<(), StoreError> {
        let (id, owner) = (run.to_string(), self.id.clone());
        let (state, output, error) = match result {
            Ok(output) => ("succeeded", Some(output.to_string()), None),
            Err(error) => ("failed", None, Some(workflow_runtime::secret::scrub(&error).into_owned())),
        };
        self.store
            .ask(move |client, name| {
                Box::pin(async move {
                    client
                        .execute(
                            "UPDATE queue SET state = $3, result = $4, error = $5, finished_at_ms = $6, lease_until_ms = NULL
                             WHERE run_id = $1 AND owner = $2",
                            &[&id, &owner, &state, &output, &error, &now_ms()],
                        )
                        .await
                        .map(drop)
                        .map_err(database(name))
                })
            })
            .await
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("queue", &self.queue)
            .field("id", &self.id)
            .field("lease", &self.lease)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}
