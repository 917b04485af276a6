//! What journaling costs per step: a chain of ten empty steps, each durable before the next
//! starts, with no journal, in memory, in SQLite (WAL, `synchronous = NORMAL`, and `FULL`), in
//! PostgreSQL; against DBOS Transact checkpointing the same ten steps on the same PostgreSQL.
//! Then the throughput of 1, 2 and 4 workers taking queued runs from one PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use workflow::RunContext;
use workflow::journal::{MemoryJournal, RunId};
use workflow::prelude::*;
use workflow_store::{PostgresStore, QueuedResult, SqliteStore, Worker};

/// Add one.
#[tool]
async fn step(n: u64) -> Result<u64, ToolError> {
    Ok(n + 1)
}

workflow! {
    /// Ten steps in a row.
    pub chain(start: u64) {
        s1 = step(n: <<start>>);
        s2 = step(n: <<s1>>);
        s3 = step(n: <<s2>>);
        s4 = step(n: <<s3>>);
        s5 = step(n: <<s4>>);
        s6 = step(n: <<s5>>);
        s7 = step(n: <<s6>>);
        s8 = step(n: <<s7>>);
        s9 = step(n: <<s8>>);
        s10 = step(n: <<s9>>);
    }
}

workflow! {
    /// One step.
    pub single(start: u64) {
        s1 = step(n: <<start>>);
    }
}

const NAMES: [&str; 10] = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"];

/// One step as a DBOS workflow.
async fn dbos_single(start: u64) -> dbos::Result<u64> {
    dbos::step("s1", || async move { dbos::Result::Ok(start + 1) }).await
}

/// The same ten steps as a DBOS workflow.
async fn dbos_chain(start: u64) -> dbos::Result<u64> {
    let mut n = start;
    for name in NAMES {
        n = dbos::step(name, || async move { dbos::Result::Ok(n + 1) }).await?;
    }
    Ok(n)
}

fn postgres_config() -> String {
    std::env::var("WORKFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
}

fn postgres_url() -> String {
    std::env::var("WORKFLOW_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn per_step(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("bench_journal_{}", std::process::id());
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("normal.db")).unwrap());
    let sqlite_full = Arc::new(SqliteStore::open_synchronous(dir.path().join("full.db")).unwrap());
    let postgres = Arc::new(rt.block_on(PostgresStore::connect(&postgres_config(), &schema)).unwrap());
    let dbos_schema = format!("bench_dbos_{}", std::process::id());
    let dbos = dbos::DBOS::new(dbos::Config {
        schema: dbos_schema.clone(),
        app_version: Some("1".to_owned()),
        ..dbos::Config::new("workflow-bench", postgres_url())
    });
    let dbos_chain = dbos.register_workflow("chain", dbos_chain).unwrap();
    let dbos_single = dbos.register_workflow("single", dbos_single).unwrap();
    rt.block_on(dbos.launch()).unwrap();
    assert_eq!(rt.block_on(dbos_chain.run(0)).unwrap(), 10);

    let mut parts = c.benchmark_group("journal/sqlite parts");
    parts.sample_size(30).measurement_time(Duration::from_secs(4));
    let run = RunId::random();
    parts.bench_function("a read through the writer thread", |b| {
        b.iter(|| {
            rt.block_on(async { workflow::journal::Journal::signal(&*sqlite, &run, "x").await.unwrap() })
        });
    });
    parts.bench_function("a commit through the writer thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let entry = workflow::journal::Entry::StepCompensated {
                    run: run.clone(),
                    step: "x".into(),
                    at_ms: 0,
                };
                workflow::journal::Journal::append(&*sqlite, entry).await.unwrap()
            })
        });
    });
    parts.finish();

    let mut group = c.benchmark_group("journal/10-step chain");
    group.sample_size(30).measurement_time(Duration::from_secs(6));
    group.bench_function("no journal", |b| {
        b.iter(|| rt.block_on(async { chain(0).run(&()).await.unwrap().s10 }));
    });
    group.bench_function("memory", |b| {
        let journal = Arc::new(MemoryJournal::new());
        b.iter(|| {
            rt.block_on(async {
                let context = RunContext::new(&()).with_journal(journal.clone(), RunId::random());
                chain(0).run(context).await.unwrap().s10
            })
        });
    });
    for (name, store) in [("sqlite", &sqlite), ("sqlite synchronous=FULL", &sqlite_full)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let context = RunContext::new(&()).with_journal(store.clone(), RunId::random());
                    chain(0).run(context).await.unwrap().s10
                })
            });
        });
    }
    group.bench_function("postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                let context = RunContext::new(&()).with_journal(postgres.clone(), RunId::random());
                chain(0).run(context).await.unwrap().s10
            })
        });
    });
    group.bench_function("dbos postgres", |b| {
        b.iter(|| rt.block_on(async { dbos_chain.run(0).await.unwrap() }));
    });
    group.finish();

    // The same with one step: the difference is what nine more steps cost.
    let mut group = c.benchmark_group("journal/1-step run");
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    group.bench_function("no journal", |b| {
        b.iter(|| rt.block_on(async { single(0).run(&()).await.unwrap().s1 }));
    });
    for (name, store) in [("sqlite", &sqlite), ("sqlite synchronous=FULL", &sqlite_full)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let context = RunContext::new(&()).with_journal(store.clone(), RunId::random());
                    single(0).run(context).await.unwrap().s1
                })
            });
        });
    }
    group.bench_function("postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                let context = RunContext::new(&()).with_journal(postgres.clone(), RunId::random());
                single(0).run(context).await.unwrap().s1
            })
        });
    });
    group.bench_function("dbos postgres", |b| {
        b.iter(|| rt.block_on(async { dbos_single.run(0).await.unwrap() }));
    });
    group.finish();
    rt.block_on(dbos.shutdown());
    drop_schemas(&rt, &[&schema, &dbos_schema]);
}

/// Throughput: `workers` workers in this process, each with a connection of its own, draining
/// `RUNS` queued runs of the chain from one PostgreSQL.
fn workers(c: &mut Criterion) {
    const RUNS: usize = 200;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("journal/workers draining 200 runs");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for workers in [1usize, 2, 4] {
        let schema = format!("bench_workers_{}_{workers}", std::process::id());
        let stores: Vec<Arc<PostgresStore>> = (0..workers)
            .map(|_| Arc::new(rt.block_on(PostgresStore::connect(&postgres_config(), &schema)).unwrap()))
            .collect();
        group.bench_function(format!("{workers} worker(s)"), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    total += rt.block_on(drain(&stores, RUNS));
                }
                total
            });
        });
        drop_schemas(&rt, &[&schema]);
    }
    group.finish();
}

/// Enqueues `runs` runs, starts a worker per store, and times until every run has succeeded.
async fn drain(stores: &[Arc<PostgresStore>], runs: usize) -> Duration {
    let mut ids = Vec::with_capacity(runs);
    for start in 0..runs {
        ids.push(stores[0].enqueue("bench", "chain", serde_json::json!({ "start": start })).await.unwrap());
    }
    let started = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let handler: workflow_store::Handler = Arc::new(|run: workflow_store::QueuedRun| {
        Box::pin(async move {
            let start = run.inputs["start"].as_u64().unwrap_or(0);
            let context = RunContext::new(&()).with_journal(run.journal.clone(), run.run_id.clone());
            chain(start).run(context).await.map(|done| serde_json::json!(done.s10)).map_err(|e| e.to_string())
        })
    });
    let tasks: Vec<_> = stores
        .iter()
        .map(|store| {
            let worker = Worker::new(store.clone(), "bench").poll(Duration::from_millis(5)).concurrency(16);
            tokio::spawn(worker.run(handler.clone(), stop.clone()))
        })
        .collect();
    for id in &ids {
        let result = stores[0].wait_result(id, Duration::from_millis(2)).await.unwrap();
        assert!(matches!(result, QueuedResult::Succeeded(_)));
    }
    let elapsed = started.elapsed();
    stop.cancel();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    elapsed
}

fn drop_schemas(rt: &tokio::runtime::Runtime, schemas: &[&str]) {
    rt.block_on(async {
        let Ok((client, connection)) = tokio_postgres_connect().await else { return };
        tokio::spawn(connection);
        for schema in schemas {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
        }
    });
}

async fn tokio_postgres_connect() -> Result<
    (
        tokio_postgres::Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    ),
    tokio_postgres::Error,
> {
    tokio_postgres::connect(&postgres_config(), tokio_postgres::NoTls).await
}

criterion_group!(benches, per_step, workers);
criterion_main!(benches);
