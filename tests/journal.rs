//! Journaled runs: a crash at every journal write, then a resume from what was written.
//!
//! A fault-injecting journal keeps the first `k - 1` entries of a run and "crashes the process"
//! at the `k`-th (it panics inside the run's poll, so nothing after it runs). Resuming from the
//! entries kept must give the outputs of a run that never crashed, without calling again a step
//! whose end was written, and with the idempotency key of the first call for a step called
//! twice.

use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use serde_json::{Value, json};
use workflow::journal::{Entry, IdempotencyKey, Journal, JournalError, MemoryJournal, Replay, RunId};
use workflow::prelude::*;
use workflow::{RunContext, StepError, WorkflowExecutor};
use workflow_store::{PostgresStore, SqliteStore, StepState};

/// Every call made: the tool and the idempotency key it was given.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<(String, String)>>>);

impl Calls {
    fn note(&self, tool: &str, key: &IdempotencyKey) {
        self.0.lock().unwrap().push((tool.to_owned(), key.as_str().to_owned()));
    }
    fn of(&self, tool: &str) -> Vec<String> {
        self.0.lock().unwrap().iter().filter(|(t, _)| t == tool).map(|(_, k)| k.clone()).collect()
    }
    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Order {
    pub id: String,
    pub total: u64,
}

/// Load an order.
#[tool]
async fn load_order(State(calls): State<Calls>, key: IdempotencyKey, id: String) -> Result<Order, ToolError> {
    calls.note("load_order", &key);
    tokio::task::yield_now().await;
    Ok(Order { id, total: 40 })
}

/// Add the tax.
#[tool]
async fn price(State(calls): State<Calls>, key: IdempotencyKey, total: u64) -> Result<u64, ToolError> {
    calls.note("price", &key);
    Ok(total + total / 4)
}

/// Charge a card: not idempotent.
#[tool(idempotent = false)]
async fn charge(State(calls): State<Calls>, key: IdempotencyKey, amount: u64) -> Result<String, ToolError> {
    calls.note("charge", &key);
    tokio::task::yield_now().await;
    Ok(format!("ch-{amount}"))
}

/// Write a receipt.
#[tool]
async fn receipt(
    State(calls): State<Calls>,
    key: IdempotencyKey,
    charge: String,
    order: String,
) -> Result<String, ToolError> {
    calls.note("receipt", &key);
    Ok(format!("{order}: {charge}"))
}

workflow! {
    /// Load, price, charge, write a receipt.
    pub checkout(order_id: String) {
        order = load_order(id: <<order_id>>);
        total = price(total: <<order.total>>);
        paid = charge(amount: <<total>>);
        done = receipt(charge: <<paid>>, order: <<order.id>>);
    }
}

mod changed {
    use super::*;
    workflow! {
        /// The same workflow, its receipt step gone and a step added.
        pub checkout(order_id: String) {
            order = load_order(id: <<order_id>>);
            total = price(total: <<order.total>>);
            paid = charge(amount: <<total>>);
            again = price(total: <<total>>);
        }
    }
}

/// A journal that passes the entries before the `crash_at`-th append on to `inner` and panics at
/// it, as a process would die there.
struct Crashing<J> {
    inner: Arc<J>,
    kept: Mutex<Vec<Entry>>,
    crash_at: usize,
}

impl<J: Journal> Crashing<J> {
    fn new(inner: Arc<J>, crash_at: usize) -> Self {
        Self { inner, kept: Mutex::new(Vec::new()), crash_at }
    }
    fn kept(&self) -> Vec<Entry> {
        self.kept.lock().unwrap().clone()
    }
}

impl<J: Journal> Journal for Crashing<J> {
    fn load<'a>(
        &'a self,
        run: &'a RunId,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Option<Replay>, JournalError>> + Send + 'a>> {
        self.inner.load(run)
    }

    fn append(&self, entry: Entry) -> workflow::journal::Durable {
        let mut kept = self.kept.lock().unwrap();
        if kept.len() + 1 >= self.crash_at {
            drop(kept);
            std::panic::panic_any(Crash);
        }
        kept.push(entry.clone());
        self.inner.append(entry)
    }
}

/// The payload of a simulated crash.
struct Crash;

/// Runs the checkout to its end or its crash; `Err(())` for a crash.
async fn run_checkout(
    journal: Arc<dyn Journal>,
    run: &RunId,
    calls: &Calls,
) -> Result<Result<workflow::Run<CheckoutOutputs>, Box<workflow::WorkflowError>>, ()> {
    let context = RunContext::new(calls).with_journal(journal, run.clone());
    let run = std::panic::AssertUnwindSafe(checkout("o-1".to_owned()).run(context)).catch_unwind().await;
    run.map_err(|panic| assert!(panic.is::<Crash>(), "a panic that is not the simulated crash"))
}

fn silence_crashes() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Crash>() {
                default(info);
            }
        }));
    });
}

/// The step ids whose end is among `entries`.
fn finished_steps(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::StepFinished { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

fn tool_of(step: &str) -> &'static str {
    match step {
        "order" => "load_order",
        "total" => "price",
        "paid" => "charge",
        _ => "receipt",
    }
}

/// Crashes a run at each of its journal writes in turn, and resumes it from `store`.
async fn crash_at_every_write<J: Journal + 'static>(store: Arc<J>) {
    silence_crashes();
    // The run that never crashes: its outputs, and how many entries it writes.
    let reference = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let uncrashed = run_checkout(journal.clone(), &RunId::random(), &reference).await.unwrap().unwrap();
    let total_entries = journal.entries().len();
    assert_eq!(
        total_entries,
        10,
        "run started, start and end of 4 steps, run finished: {:#?}",
        journal.entries()
    );
    assert_eq!(uncrashed.done, "o-1: ch-50");

    let prefix = RunId::random();
    for k in 1..=total_entries {
        let calls = Calls::default();
        let crashing = Arc::new(Crashing::new(store.clone(), k));
        let run = RunId::from(format!("{prefix}-{k}"));
        let crashed = run_checkout(crashing.clone(), &run, &calls).await;
        let kept = crashing.kept();
        assert_eq!(kept.len(), k - 1);
        assert!(crashed.is_err(), "k = {k}: the run should have crashed");
        let written = finished_steps(&kept);
        let before: Vec<(String, String)> = calls.all();

        // Resume from what was written.
        let mut resumed = run_checkout(store.clone(), &run, &calls).await.unwrap();
        if let Err(error) = &resumed {
            // The charge started and its end was not written: it is not called again blindly.
            let StepError::Journal(journal) = &error.error else {
                panic!("k = {k}: unexpected error {error:?}")
            };
            let JournalError::OutcomeUnknown { step, key, .. } = &**journal else {
                panic!("k = {k}: unexpected error {error:?}");
            };
            assert_eq!(step, "paid", "k = {k}");
            assert_eq!(key, &format!("{run}/paid"));
            // The user finds the charge went through, and records its outcome.
            store.append(Entry::resolved(&run, "paid", "charge", json!("ch-50"))).await.unwrap();
            resumed = run_checkout(store.clone(), &run, &calls).await.unwrap();
        }
        let resumed = resumed.unwrap_or_else(|e| panic!("k = {k}: {e:?}"));
        assert_eq!(format!("{:?}", resumed.outputs), format!("{:?}", uncrashed.outputs), "k = {k}");

        // A step whose end was written is not called again.
        for step in &written {
            assert_eq!(calls.of(tool_of(step)).len(), 1, "k = {k}: `{step}` was called again");
        }
        // The charge, which is not idempotent, is called once whatever happened.
        assert_eq!(calls.of("charge").len(), 1, "k = {k}: {:?}", calls.all());
        // At most one step ran twice: the one in flight at the crash, with the same key.
        let twice: Vec<&str> = ["load_order", "price", "charge", "receipt"]
            .into_iter()
            .filter(|tool| calls.of(tool).len() > 1)
            .collect();
        assert!(twice.len() <= 1, "k = {k}: {twice:?} ran twice");
        for tool in twice {
            let keys = calls.of(tool);
            assert_eq!(keys.len(), 2, "k = {k}");
            assert_eq!(keys[0], keys[1], "k = {k}: a step called again gets the same idempotency key");
            assert!(before.iter().any(|(t, _)| t == tool), "k = {k}");
        }
        // Every call had the run's key for its step.
        for (tool, key) in calls.all() {
            assert!(key.starts_with(&format!("{run}/")), "k = {k}: {tool} had key {key:?}");
        }
    }
}

#[tokio::test]
async fn a_crash_at_every_journal_write_resumes_to_the_same_outputs() {
    crash_at_every_write(Arc::new(MemoryJournal::new())).await;
}

#[tokio::test]
async fn a_crash_at_every_sqlite_write_resumes_to_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    crash_at_every_write(Arc::new(SqliteStore::open(dir.path().join("runs.db")).unwrap())).await;
}

#[tokio::test]
async fn a_crash_at_every_postgres_write_resumes_to_the_same_outputs() {
    let Some(store) = postgres("crash").await else { return };
    crash_at_every_write(store.clone()).await;
    drop_schema(&store).await;
}

#[tokio::test]
async fn a_resumed_run_that_finished_calls_nothing() {
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let run = RunId::from("done-once");
    let first = run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    assert_eq!(calls.all().len(), 4);
    let again = run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    assert_eq!(calls.all().len(), 4, "nothing is called again");
    assert_eq!(format!("{:?}", again.outputs), format!("{:?}", first.outputs));
    assert!(again.record.steps.iter().all(|s| s.replayed && s.attempts.is_empty()));
    assert!(first.record.steps.iter().all(|s| !s.replayed));
}

#[tokio::test]
async fn a_changed_definition_is_refused_naming_what_changed() {
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let run = RunId::from("changed");
    run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    let context = RunContext::new(&calls).with_journal(journal.clone(), run.clone());
    let error = changed::checkout("o-1".to_owned()).run(context).await.unwrap_err();
    let StepError::Journal(journal) = &error.error else { panic!("{error:?}") };
    let JournalError::DefinitionChanged { changes, expected, found, .. } = &**journal else {
        panic!("{error:?}");
    };
    assert_ne!(expected, found);
    assert_eq!(changes, &["step `done` removed".to_owned(), "step `again` added".to_owned()]);
    let message = error.to_string();
    assert!(message.contains("step `done` removed; step `again` added"), "{message}");
    assert_eq!(calls.all().len(), 4, "nothing ran");
}

#[tokio::test]
async fn other_inputs_are_refused() {
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let run = RunId::from("inputs");
    run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    let context = RunContext::new(&calls).with_journal(journal.clone(), run.clone());
    let error = checkout("o-2".to_owned()).run(context).await.unwrap_err();
    assert!(
        matches!(&error.error, StepError::Journal(e) if matches!(&**e, JournalError::InputsChanged { changes, .. } if changes == "`order_id`")),
        "{error:?}"
    );
}

fn registry(calls: &Calls) -> ToolRegistry<Calls> {
    let mut tools = ToolRegistry::new(calls.clone());
    tools.register::<load_order>().unwrap();
    tools.register::<price>().unwrap();
    tools.register::<charge>().unwrap();
    tools.register::<receipt>().unwrap();
    tools
}

#[tokio::test]
async fn a_compiled_run_resumes_as_a_run_time_workflow_and_back() {
    silence_crashes();
    // Crash the compiled run at the end of `total` (entry 5): `order` and `total` are written.
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let crashing = Arc::new(Crashing::new(journal.clone(), 5));
    let run = RunId::from("both-kinds");
    assert!(run_checkout(crashing.clone(), &run, &calls).await.is_err());

    // The same definition run by the executor picks up where the compiled run stopped.
    let tools = registry(&calls);
    let context = RunContext::new(&tools).with_journal(journal.clone(), run.clone());
    let done =
        WorkflowExecutor::new().execute(&checkout::template(), context, json!({ "order_id": "o-1" })).await;
    let done = done.unwrap();
    assert_eq!(done.context.get_result("done"), Some(&json!("o-1: ch-50")));
    assert_eq!(calls.of("load_order").len(), 1);
    assert_eq!(calls.of("charge"), vec![format!("{run}/paid")]);
    let replayed: Vec<&str> =
        done.record.steps.iter().filter(|s| s.replayed).map(|s| s.step.as_ref()).collect();
    assert_eq!(replayed, ["order"]);
    // `total` was in flight: it ran again, with its first key.
    assert_eq!(calls.of("price"), vec![format!("{run}/total"); 2]);

    // And back: the compiled workflow reads the run-time run's outputs as typed values.
    let again = run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    assert_eq!(again.order, Order { id: "o-1".into(), total: 40 });
    assert_eq!(again.done, "o-1: ch-50");
    assert_eq!(calls.all().len(), 5, "nothing more was called");
}

#[tokio::test]
async fn the_journal_records_arguments_outputs_and_records() {
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let run = RunId::from("recorded");
    run_checkout(journal.clone(), &run, &calls).await.unwrap().unwrap();
    let entries = journal.entries();
    let Entry::RunStarted { workflow, inputs, definition_hash, .. } = &entries[0] else { panic!() };
    assert_eq!(workflow, "checkout");
    assert_eq!(inputs, &json!({ "order_id": "o-1" }));
    assert_eq!(definition_hash.len(), 64);
    let paid = entries.iter().find_map(|e| match e {
        Entry::StepFinished { step, args, output, record, .. } if step == "paid" => {
            Some((args, output, record))
        }
        _ => None,
    });
    let (args, output, record) = paid.unwrap();
    assert_eq!(args, &Some(json!({ "amount": 50 })));
    assert_eq!(output, &Some(json!("ch-50")));
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["attempts"].as_array().map(Vec::len), Some(1));
    assert!(matches!(entries.last(), Some(Entry::RunFinished { succeeded: true, .. })));
    // A non-idempotent step's start is written before its call: it is right before its end.
    let position = |wanted: &str, started: bool| {
        entries.iter().position(|e| match e {
            Entry::StepStarted { step, .. } => started && step == wanted,
            Entry::StepFinished { step, .. } => !started && step == wanted,
            _ => false,
        })
    };
    assert_eq!(position("paid", true).map(|p| p + 1), position("paid", false));
    let _: Option<&Value> = None;
}

/// The PostgreSQL the tests use: `WORKFLOW_TEST_POSTGRES`, or the local server on the default
/// port.
fn postgres_config() -> String {
    std::env::var("WORKFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3".to_owned())
}

/// A store in a schema of the test's own, or `None` (with one line saying so) when no
/// PostgreSQL answers, unless `WORKFLOW_REQUIRE_POSTGRES` is set, as CI sets it.
async fn postgres(test: &str) -> Option<Arc<PostgresStore>> {
    let schema =
        format!("wf_test_{test}_{}_{}", std::process::id(), RunId::random().as_str().get(..8).unwrap_or(""));
    match PostgresStore::connect(&postgres_config(), &schema).await {
        Ok(store) => Some(Arc::new(store)),
        Err(error) if std::env::var_os("WORKFLOW_REQUIRE_POSTGRES").is_none() => {
            // Once per test binary, past the test harness's capture of `eprintln!`.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: the PostgreSQL tests were skipped: no server answers at `{}` ({error}); set WORKFLOW_TEST_POSTGRES to use one",
                    postgres_config()
                );
            });
            let _ = test;
            None
        }
        Err(error) => panic!("WORKFLOW_REQUIRE_POSTGRES is set and PostgreSQL is not reachable: {error}"),
    }
}

/// Drops a test's schema.
async fn drop_schema(store: &PostgresStore) {
    let schema = store.name().trim_start_matches("postgres schema ").to_owned();
    let (client, connection) =
        tokio_postgres::connect(&postgres_config(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await.unwrap();
}

/// Three runs of the checkout in `store`; its log, and its export read by the miner.
async fn log_and_export<J: Journal + 'static>(
    store: Arc<J>,
    runs: impl AsyncFn() -> Vec<workflow_store::StoredRun>,
) -> Vec<u8> {
    let calls = Calls::default();
    let ids: Vec<RunId> = (0..3).map(|_| RunId::random()).collect();
    for id in &ids {
        run_checkout(store.clone(), id, &calls).await.unwrap().unwrap();
    }
    let logged = runs().await;
    let ours: Vec<_> = logged.iter().filter(|r| ids.iter().any(|id| id.as_str() == r.run_id)).collect();
    assert_eq!(ours.len(), 3);
    for run in &ours {
        assert_eq!(run.workflow, "checkout");
        assert_eq!(run.status, "succeeded");
        assert_eq!(run.inputs, json!({ "order_id": "o-1" }));
        assert_eq!(run.definition_hash.len(), 64);
        let steps: Vec<(&str, u64, StepState)> =
            run.steps.iter().map(|s| (s.step.as_str(), s.seq, s.state)).collect();
        let ok = StepState::Ended(workflow::StepStatus::Succeeded);
        assert_eq!(steps, [("order", 1, ok), ("total", 2, ok), ("paid", 3, ok), ("done", 4, ok)]);
        let paid = &run.steps[2];
        assert_eq!(paid.args, Some(json!({ "amount": 50 })));
        assert_eq!(paid.output, Some(json!("ch-50")));
        assert_eq!(paid.idempotency_key.as_deref(), Some(format!("{}/paid", run.run_id).as_str()));
        assert!(paid.record.as_ref().is_some_and(|r| r["attempts"].as_array().map(Vec::len) == Some(1)));
        assert!(paid.started_at_ms.is_some() && paid.finished_at_ms >= paid.started_at_ms);
    }
    let ours: Vec<workflow_store::StoredRun> = ours.into_iter().cloned().collect();
    let mut jsonl = Vec::new();
    assert_eq!(workflow_store::export_jsonl(&ours, &mut jsonl).unwrap(), 12);
    jsonl
}

/// The export in the miner's format: the miner reads it and finds the checkout again.
fn mine_finds_the_checkout(jsonl: Vec<u8>) {
    let text = String::from_utf8(jsonl.clone()).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["tool_name"], "load_order");
    assert_eq!(first["parameters"], json!({ "id": "o-1" }));
    assert_eq!(first["result"], json!({ "id": "o-1", "total": 40 }));
    assert_eq!(first["success"], true);
    assert_eq!(first["source"], "workflow:checkout");
    let mined = workflow_mine::PatternDetector::new()
        .mine(&[workflow_mine::LogSource::bytes("export.jsonl", jsonl)])
        .unwrap();
    assert!(mined.stats.bad_lines.is_empty(), "{:?}", mined.stats.bad_lines);
    let best = &mined.patterns[0];
    assert_eq!(best.tools, ["load_order", "price", "charge", "receipt"]);
    assert_eq!(best.support, 3);
    assert_eq!(best.success_rate, 1.0);
}

#[tokio::test]
async fn the_sqlite_log_holds_each_run_and_exports_for_the_miner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let jsonl = log_and_export(store.clone(), async || store.runs().await.unwrap()).await;
    mine_finds_the_checkout(jsonl);
    // Reopened, the file holds the same runs; the schema is not migrated twice.
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.runs().await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_postgres_log_holds_each_run_and_exports_for_the_miner() {
    let Some(store) = postgres("log").await else { return };
    let jsonl = log_and_export(store.clone(), async || store.runs().await.unwrap()).await;
    mine_finds_the_checkout(jsonl);
    drop_schema(&store).await;
}

#[tokio::test]
async fn a_newer_sqlite_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite_version_bump(&path);
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(error.to_string().contains("the schema is at version 99, newer than 3"), "{error}");
}

#[tokio::test]
async fn a_log_of_the_previous_schema_is_migrated_with_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    run_checkout(store.clone(), &RunId::from("before-tokens"), &Calls::default()).await.unwrap().unwrap();
    drop(store);
    // As version 2 left it: no `tokens` column.
    let script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('ALTER TABLE runs DROP COLUMN tokens'); c.execute('PRAGMA user_version = 2'); c.commit()";
    let status = std::process::Command::new("python3").args(["-c", script]).arg(&path).status().unwrap();
    assert!(status.success());
    let store = SqliteStore::open(&path).unwrap();
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].run_id.as_str(), runs[0].status.as_str(), runs[0].steps.len()),
        ("before-tokens", "succeeded", 4)
    );
    assert_eq!(runs[0].tokens, None);
}

/// Sets the file's schema version to 99, as a later version of the store would.
fn rusqlite_version_bump(path: &std::path::Path) {
    let status = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 99'); c.commit()"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The file a child process appends the key of each call to, before the call's work.
#[derive(Clone)]
struct CallsFile(std::path::PathBuf);

/// Add one, slowly; every call is noted in the calls file, on the disk before its work starts.
#[tool]
async fn slow_step(State(file): State<CallsFile>, key: IdempotencyKey, n: u64) -> Result<u64, ToolError> {
    use std::io::Write as _;
    let mut calls = std::fs::OpenOptions::new().create(true).append(true).open(&file.0)?;
    // One write of the whole line: `writeln!` may write the key and the newline apart, and a
    // kill between the two would glue the key to the next call's line.
    calls.write_all(format!("{key}\n").as_bytes())?;
    calls.sync_data()?;
    tokio::time::sleep(std::time::Duration::from_millis(8)).await;
    Ok(n + 1)
}

workflow! {
    /// Five slow steps in a row.
    pub five(start: u64) {
        a = slow_step(n: <<start>>);
        b = slow_step(n: <<a>>);
        c = slow_step(n: <<b>>);
        d = slow_step(n: <<c>>);
        e = slow_step(n: <<d>>);
    }
}

/// What the parent sets for the child process.
const CHILD_ENV: [&str; 3] = ["WORKFLOW_CHILD_DB", "WORKFLOW_CHILD_RUN", "WORKFLOW_CHILD_CALLS"];

#[test]
#[ignore = "a child process of `a_process_killed_at_random_points_resumes_with_nothing_lost`"]
fn journaled_child() {
    let [db, run, calls] = CHILD_ENV.map(|name| std::env::var(name).expect("set by the parent process"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(db).unwrap());
        let calls = CallsFile(calls.into());
        let context = RunContext::new(&calls).with_journal(store, run);
        let done = five(1).run(context).await.unwrap();
        println!("OUTPUT {}", done.e);
    });
}

/// Starts the child process, which runs `five` journaled in `db` as run `run`.
fn child(db: &std::path::Path, run: &str, calls: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args(["--ignored", "--exact", "journaled_child", "--nocapture", "--test-threads=1"]);
    for (name, value) in CHILD_ENV.iter().zip([db.as_os_str(), std::ffi::OsStr::new(run), calls.as_os_str()])
    {
        command.env(name, value);
    }
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    command
}

#[tokio::test]
async fn a_process_killed_at_random_points_resumes_with_nothing_lost() {
    use rand::{Rng as _, SeedableRng as _};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(20261201);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let mut killed_mid_run = 0;
    for i in 0..50 {
        let run = format!("kill-{i}");
        let calls = dir.path().join(format!("calls-{i}.txt"));
        let mut process = child(&db, &run, &calls).spawn().unwrap();
        // Killed at a random point of its run (5 steps of 8 ms), counted from its first call,
        // however long the process took to start.
        let started = std::time::Instant::now();
        while std::fs::metadata(&calls).map_or(true, |m| m.len() == 0) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "run {i}: the child never called a tool"
            );
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..50)));
        process.kill().unwrap(); // SIGKILL
        process.wait().unwrap();

        let store = SqliteStore::open(&db).unwrap();
        let before = store.run(&RunId::from(run.as_str())).await.unwrap();
        drop(store);
        let finished: Vec<String> = before
            .iter()
            .flat_map(|r| &r.steps)
            .filter(|s| s.state == StepState::Ended(workflow::StepStatus::Succeeded))
            .map(|s| s.step.clone())
            .collect();
        if (1..5).contains(&finished.len()) {
            killed_mid_run += 1;
        }

        let resumed = child(&db, &run, &calls).output().unwrap();
        let stdout = String::from_utf8_lossy(&resumed.stdout);
        assert!(resumed.status.success(), "run {i}: {stdout}\n{}", String::from_utf8_lossy(&resumed.stderr));
        assert!(stdout.contains("OUTPUT 6"), "run {i}: {stdout}");

        let text = std::fs::read_to_string(&calls).unwrap();
        let count = |step: &str| text.lines().filter(|l| *l == format!("{run}/{step}")).count();
        for step in ["a", "b", "c", "d", "e"] {
            assert!(count(step) >= 1, "run {i}: `{step}` never ran");
        }
        for step in &finished {
            assert_eq!(count(step), 1, "run {i}: `{step}` was recorded finished and ran again");
        }
        let twice = ["a", "b", "c", "d", "e"].into_iter().filter(|s| count(s) > 1).count();
        assert!(twice <= 1, "run {i}: {twice} steps ran twice:\n{text}");
        assert!(text.lines().all(|l| l.starts_with(&format!("{run}/"))), "run {i}: {text}");
    }
    // The kills must land inside runs for the test to mean anything.
    assert!(killed_mid_run >= 10, "only {killed_mid_run} of 50 kills landed mid-run");
    println!("{killed_mid_run} of 50 kills landed mid-run");
}

/// The secrets of the redaction test: one line, several lines.
const SECRET_LINE: &str = "hunter2-S1ngle-L1ne-Secret";
const SECRET_KEY: &str =
    "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9qW\n0S3cr3tLineTw0xyzabcdef\n-----END TEST KEY-----";

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Fails on its first call.
#[derive(Clone, Default)]
struct Flaky(Arc<Mutex<u32>>);

/// Log in; the first call fails, quoting the token.
#[tool]
async fn login(
    State(flaky): State<Flaky>,
    token: workflow::Secret<String>,
    user: String,
) -> Result<String, ToolError> {
    let mut calls = flaky.0.lock().unwrap();
    *calls += 1;
    if *calls == 1 {
        return Err(ToolError::retryable(format!("token {} rejected for {user}", token.expose())));
    }
    Ok(format!("session-{user}"))
}

/// Pay with a key.
#[tool]
async fn pay(key: workflow::Secret<String>, session: String) -> Result<String, ToolError> {
    let _ = key;
    Ok(format!("pay-{session}"))
}

/// Refund a payment; fails, quoting the key in base64.
#[tool]
async fn refund(key: workflow::Secret<String>, payment: String) -> Result<(), ToolError> {
    Err(ToolError::permanent(format!("refund of {payment} refused for key {}", base64(key.expose()))))
}

/// Panics, quoting a line of the key.
#[tool]
async fn crash(key: workflow::Secret<String>, payment: String) -> Result<String, ToolError> {
    panic!("crashed on {payment} with {}", key.expose().lines().nth(1).unwrap_or_default())
}

/// Signs a text with a key given as plain text, marked `#[secret]`; fails, quoting it.
#[tool]
async fn sign(#[secret] pem: String, text: String) -> Result<String, ToolError> {
    Err(ToolError::permanent(format!("cannot sign {text:?} with {pem}")))
}

workflow! {
    /// Retries, compensates and panics with secrets at hand.
    pub guarded(token: workflow::Secret<String>, key: workflow::Secret<String>, user: String) {
        session = login(token: <<token>>, user: <<user>>) retry 2 backoff 1ms;
        payment = pay(key: <<key>>, session: <<session>>) compensate refund(key: <<key>>, payment: <<payment>>);
        boom = crash(key: <<key>>, payment: <<payment>>);
    }
}

/// A `tracing` writer appending to a file.
#[derive(Clone)]
struct TraceFile(Arc<Mutex<std::fs::File>>);

impl std::io::Write for TraceFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

#[test]
#[ignore = "a child process of `secrets_reach_no_store_export_trace_error_or_stderr`"]
fn secretive_child() {
    let dir =
        std::path::PathBuf::from(std::env::var("WORKFLOW_SECRET_DIR").expect("set by the parent process"));
    let trace = TraceFile(Arc::new(Mutex::new(std::fs::File::create(dir.join("trace.log")).unwrap())));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_writer(move || trace.clone())
        .with_ansi(false)
        .finish();
    let _trace = tracing_subscriber::util::SubscriberInitExt::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let sqlite = Arc::new(SqliteStore::open(dir.join("runs.db")).unwrap());
        let pg = postgres("secrets").await;
        if let Some(pg) = &pg {
            println!("SCHEMA {}", pg.name().trim_start_matches("postgres schema "));
        }
        let mut stores: Vec<Arc<dyn Journal>> = vec![sqlite.clone()];
        stores.extend(pg.clone().map(|pg| pg as Arc<dyn Journal>));
        let mut tools = ToolRegistry::new(Flaky::default());
        for register in [
            ToolRegistry::register::<login>,
            ToolRegistry::register::<pay>,
            ToolRegistry::register::<refund>,
            ToolRegistry::register::<crash>,
            ToolRegistry::register::<sign>,
        ] {
            register(&mut tools).unwrap();
        }
        for store in &stores {
            // Compiled.
            let flaky = Flaky::default();
            let context = RunContext::new(&flaky).with_journal(store.clone(), RunId::random());
            let run = guarded(SECRET_LINE.into(), SECRET_KEY.into(), "ada".into()).run(context).await;
            let error = run.unwrap_err();
            println!("{error}\n{error:?}");
            // Run-time, from the same definition.
            let tools = {
                let mut fresh = ToolRegistry::new(Flaky::default());
                fresh.register::<login>().unwrap().register::<pay>().unwrap().register::<refund>().unwrap();
                fresh.register::<crash>().unwrap();
                fresh
            };
            let inputs = json!({ "token": SECRET_LINE, "key": SECRET_KEY, "user": "ada" });
            let context = RunContext::new(&tools).with_journal(store.clone(), RunId::random());
            let error = WorkflowExecutor::new().execute(&guarded::template(), context, inputs).await.unwrap_err();
            println!("{error}\n{error:?}");
        }
        // A `#[secret]` argument of a run-time workflow, given as plain text.
        let signing: workflow::WorkflowTemplate = serde_json::from_value(json!({
            "name": "signing",
            "inputs": [{ "name": "pem", "type": "Secret<String>" }],
            "steps": [{ "step_id": "signed", "tool_name": "sign", "parameters": { "pem": "{{pem}}", "text": "hello" } }]
        }))
        .unwrap();
        for store in &stores {
            let context = RunContext::new(&tools).with_journal(store.clone(), RunId::random());
            let error = WorkflowExecutor::new().execute(&signing, context, json!({ "pem": SECRET_KEY })).await.unwrap_err();
            println!("{error}\n{error:?}");
        }
        let export = std::fs::File::create(dir.join("export.jsonl")).unwrap();
        assert!(sqlite.export_jsonl(export).await.unwrap() > 0);
        if let Some(pg) = &pg {
            let export = std::fs::File::create(dir.join("export-pg.jsonl")).unwrap();
            assert!(pg.export_jsonl(export).await.unwrap() > 0);
        }
    });
}

#[tokio::test]
async fn secrets_reach_no_store_export_trace_error_or_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["--ignored", "--exact", "secretive_child", "--nocapture", "--test-threads=1"]);
    let output = child.env("WORKFLOW_SECRET_DIR", dir.path()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let mut forms = vec![SECRET_LINE.to_owned(), base64(SECRET_LINE), base64(SECRET_KEY)];
    forms.extend(SECRET_KEY.lines().filter(|l| !l.starts_with("-----")).map(str::to_owned));
    let mut places: Vec<(String, Vec<u8>)> =
        vec![("stdout".into(), output.stdout.clone()), ("stderr".into(), output.stderr.clone())];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        places.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    let schema = stdout.lines().find_map(|l| l.strip_prefix("SCHEMA ")).map(str::to_owned);
    if let Some(schema) = &schema {
        let (client, connection) =
            tokio_postgres::connect(&postgres_config(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        for table in ["runs", "steps"] {
            let rows = client
                .query(&format!("SELECT row_to_json(t)::text FROM \"{schema}\".{table} t"), &[])
                .await
                .unwrap();
            let text: String = rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n");
            assert!(!text.is_empty(), "{table} is empty");
            places.push((format!("postgres {table}"), text.into_bytes()));
        }
        client.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await.unwrap();
    }
    for (place, bytes) in &places {
        let text = String::from_utf8_lossy(bytes);
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{place} holds the secret form {form:?}:\n{text}");
        }
    }
    // The messages that quoted the secrets were there, redacted.
    assert!(stderr.contains("crashed on pay-session-ada with [REDACTED]"), "{stderr}");
    assert!(stdout.contains("refused for key [REDACTED]"), "{stdout}");
    assert!(stdout.contains("with [REDACTED]"), "{stdout}");
    let trace = String::from_utf8_lossy(&places.iter().find(|(p, _)| p.ends_with("trace.log")).unwrap().1)
        .into_owned();
    assert!(trace.contains("token [REDACTED] rejected for ada"), "{trace}");
    let sqlite = &places.iter().find(|(p, _)| p.ends_with("runs.db")).unwrap().1;
    assert!(
        String::from_utf8_lossy(sqlite).contains("[REDACTED]")
            || places
                .iter()
                .any(|(p, b)| p.ends_with("-wal") && String::from_utf8_lossy(b).contains("[REDACTED]"))
    );
}

/// Ask for an approval.
#[tool]
async fn request_approval(
    State(calls): State<Calls>,
    key: IdempotencyKey,
    item: String,
) -> Result<String, ToolError> {
    calls.note("request_approval", &key);
    Ok(format!("approval of {item}"))
}

/// Apply a decision.
#[tool]
async fn apply_decision(
    State(calls): State<Calls>,
    key: IdempotencyKey,
    decision: Value,
) -> Result<String, ToolError> {
    calls.note("apply_decision", &key);
    Ok(format!("applied {}", decision["by"].as_str().unwrap_or("?")))
}

mod approvals {
    use super::*;
    use workflow::durable::wait_for_signal;

    workflow! {
        /// Waits up to 30 s for an approval.
        pub approval(item: String) {
            asked = request_approval(item: <<item>>);
            decision = wait_for_signal(name: "approved", timeout_secs: 30) depends asked;
            applied = apply_decision(decision: <<decision>>);
        }
    }

    workflow! {
        /// Waits up to 2 s for an approval.
        pub hasty(item: String) {
            asked = request_approval(item: <<item>>);
            decision = wait_for_signal(name: "approved", timeout_secs: 2) depends asked;
            applied = apply_decision(decision: <<decision>>);
        }
    }
}

#[tokio::test]
async fn a_wait_ends_with_its_signal_from_another_task() {
    let (calls, journal, run) = (Calls::default(), Arc::new(MemoryJournal::new()), RunId::random());
    let sender = {
        let (journal, run) = (journal.clone(), run.clone());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
            journal.send_signal(&run, "approved", json!({ "by": "grace" })).await.unwrap();
        })
    };
    let context = RunContext::new(&calls).with_journal(journal.clone(), run.clone());
    let done = approvals::approval("laptop".into()).run(context).await.unwrap();
    sender.await.unwrap();
    assert_eq!(done.decision, json!({ "by": "grace" }));
    assert_eq!(done.applied, "applied grace");
    assert!(
        done.record.step("decision").unwrap().duration().unwrap() >= std::time::Duration::from_millis(100)
    );
}

#[tokio::test]
async fn a_wait_outside_a_journaled_run_says_what_it_needs() {
    let error = approvals::approval("laptop".into()).run(&Calls::default()).await.unwrap_err();
    assert_eq!(error.step, "decision");
    assert!(
        error
            .to_string()
            .contains("needs a journaled run: give the run a journal with `RunContext::with_journal`"),
        "{error}"
    );
}

#[test]
#[ignore = "a child process of `a_waiting_run_survives_its_process_and_resumes_on_a_signal_from_another`"]
fn approval_child() {
    let [db, run, which] = ["WORKFLOW_CHILD_DB", "WORKFLOW_CHILD_RUN", "WORKFLOW_CHILD_WHICH"]
        .map(|name| std::env::var(name).expect("set by the parent process"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(db).unwrap());
        let calls = Calls::default();
        let context = RunContext::new(&calls).with_journal(store, run);
        let done = match which.as_str() {
            "approval" => approvals::approval("laptop".into()).run(context).await.map(|r| r.applied.clone()),
            _ => approvals::hasty("laptop".into()).run(context).await.map(|r| r.applied.clone()),
        };
        match done {
            Ok(applied) => println!("OUTPUT {applied}"),
            Err(error) => println!("ERROR {error}"),
        }
    });
}

fn approval_child_process(db: &std::path::Path, run: &str, which: &str) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args(["--ignored", "--exact", "approval_child", "--nocapture", "--test-threads=1"]);
    command.env("WORKFLOW_CHILD_DB", db).env("WORKFLOW_CHILD_RUN", run).env("WORKFLOW_CHILD_WHICH", which);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    command
}

/// Waits until the step `step` of `run` is running in `db`.
async fn until_running(db: &std::path::Path, run: &str, step: &str) {
    let mut found = None;
    for _ in 0..200 {
        let store = SqliteStore::open(db).unwrap();
        found = store.run(&RunId::from(run)).await.unwrap();
        if found.iter().flat_map(|r| &r.steps).any(|s| s.step == step && s.state == StepState::Running) {
            return;
        }
        drop(store);
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("`{step}` never started: {found:#?}");
}

#[tokio::test]
async fn a_waiting_run_survives_its_process_and_resumes_on_a_signal_from_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");

    // The run waits; its process exits (killed) while it waits.
    let mut waiting = approval_child_process(&db, "approve-1", "approval").spawn().unwrap();
    until_running(&db, "approve-1", "decision").await;
    waiting.kill().unwrap();
    waiting.wait().unwrap();
    // Another process (this one) signals it.
    let store = SqliteStore::open(&db).unwrap();
    store.send_signal(&RunId::from("approve-1"), "approved", json!({ "by": "grace" })).await.unwrap();
    drop(store);
    // Resumed, it goes on with the signal; the request is not made again.
    let resumed = approval_child_process(&db, "approve-1", "approval").output().unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("OUTPUT applied grace"), "{stdout}{}", String::from_utf8_lossy(&resumed.stderr));
    let store = SqliteStore::open(&db).unwrap();
    let run = store.run(&RunId::from("approve-1")).await.unwrap().unwrap();
    assert_eq!(run.status, "succeeded");
    assert_eq!(run.steps.iter().find(|s| s.step == "asked").unwrap().seq, 1);
    drop(store);

    // Without a signal, the run fails at its timeout, counted from the wait's first start.
    let mut waiting = approval_child_process(&db, "approve-2", "hasty").spawn().unwrap();
    until_running(&db, "approve-2", "decision").await;
    let killed_at = std::time::Instant::now();
    waiting.kill().unwrap();
    waiting.wait().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100).saturating_sub(killed_at.elapsed())).await;
    let resumed_at = std::time::Instant::now();
    let resumed = approval_child_process(&db, "approve-2", "hasty").output().unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        stdout.contains("ERROR workflow `hasty` failed at step `decision`: tool `wait_for_signal` failed: no signal `approved` arrived within 2s"),
        "{stdout}"
    );
    // It did not wait the 2 s again.
    assert!(resumed_at.elapsed() < std::time::Duration::from_millis(1800), "{:?}", resumed_at.elapsed());
}

/// The calls of the scale-out test, noted in PostgreSQL by every worker process.
#[derive(Clone)]
struct PgCalls(Arc<tokio_postgres::Client>);

/// Add one; every call is noted in the `calls` table.
#[tool]
async fn pg_step(State(db): State<PgCalls>, key: IdempotencyKey, n: u64) -> Result<u64, ToolError> {
    db.0.execute("INSERT INTO calls (key) VALUES ($1)", &[&key.as_str()])
        .await
        .map_err(|e| ToolError::retryable(e.to_string()))?;
    Ok(n + 1)
}

workflow! {
    /// Five steps in a row, each noted.
    pub five_pg(start: u64) {
        a = pg_step(n: <<start>>);
        b = pg_step(n: <<a>>);
        c = pg_step(n: <<b>>);
        d = pg_step(n: <<c>>);
        e = pg_step(n: <<d>>);
    }
}

/// A connection to the test server with `schema` first on its search path.
async fn pg_client(schema: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&postgres_config(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("SET search_path TO \"{schema}\"")).await.unwrap();
    client
}

#[test]
#[ignore = "a child process of `workers_on_one_postgres_take_over_the_runs_of_a_killed_one`"]
fn worker_child() {
    let schema = std::env::var("WORKFLOW_WORKER_SCHEMA").expect("set by the parent process");
    // The parent holds our stdin: when it ends (the parent exited, even killed), so do we.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(PostgresStore::connect(&postgres_config(), &schema).await.unwrap());
        let calls = PgCalls(Arc::new(pg_client(&schema).await));
        let handler: workflow_store::Handler = Arc::new(move |run: workflow_store::QueuedRun| {
            let calls = calls.clone();
            Box::pin(async move {
                let start = run.inputs["start"].as_u64().ok_or("no `start` input")?;
                let context = RunContext::new(&calls)
                    .with_journal(run.journal.clone(), run.run_id.clone())
                    .with_cancellation(run.lost.clone());
                five_pg(start).run(context).await.map(|done| json!(done.e)).map_err(|e| e.to_string())
            })
        });
        let worker = workflow_store::Worker::new(store, "five")
            .lease(std::time::Duration::from_secs(2))
            .concurrency(8);
        println!("WORKER {}", worker.id());
        worker.run(handler, tokio_util::sync::CancellationToken::new()).await.unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_one_postgres_take_over_the_runs_of_a_killed_one() {
    let Some(store) = postgres("scale").await else { return };
    let schema = store.name().trim_start_matches("postgres schema ").to_owned();
    let db = pg_client(&schema).await;
    db.batch_execute("CREATE TABLE calls (key TEXT NOT NULL)").await.unwrap();
    let mut runs = Vec::new();
    for start in 0..1000u64 {
        runs.push((store.enqueue("five", "five_pg", json!({ "start": start })).await.unwrap(), start));
    }
    let spawn = || {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command.args(["--ignored", "--exact", "worker_child", "--nocapture", "--test-threads=1"]);
        command.env("WORKFLOW_WORKER_SCHEMA", &schema);
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        command.spawn().unwrap()
    };
    let mut workers = Children((0..3).map(|_| spawn()).collect());
    let count = |state: &'static str| {
        let db = &db;
        async move {
            db.query_one("SELECT count(*) FROM queue WHERE state = $1", &[&state])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let waited = std::time::Instant::now();
    while count("succeeded").await < 250 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(60), "the workers are not making progress");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Kill one worker mid-way, and see what it held.
    let killed = workers.0.remove(0);
    let owner = format!("worker-{}-%", killed.id());
    let mut killed = killed;
    killed.kill().unwrap();
    killed.wait().unwrap();
    let killed_at = workflow_store_now_ms();
    let held: Vec<String> = db
        .query("SELECT run_id FROM queue WHERE owner LIKE $1 AND state = 'leased'", &[&owner])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!held.is_empty(), "the killed worker held no run");
    let finished_then: Vec<String> = db
        .query(
            "SELECT run_id || '/' || step FROM steps WHERE state = 'succeeded' AND run_id = ANY($1)",
            &[&held],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    while count("succeeded").await < 1000 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(180), "not every run completed");
        assert_eq!(count("failed").await, 0);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(workers);

    // Every run completed, with its output.
    for (run, start) in &runs {
        assert_eq!(
            store.result(run).await.unwrap(),
            Some(workflow_store::QueuedResult::Succeeded(json!(start + 5)))
        );
    }
    // No completed step ran twice; only a step in flight on the killed worker may have.
    let calls: Vec<(String, i64)> = db
        .query("SELECT key, count(*) FROM calls GROUP BY key", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(calls.len(), 5000, "every step of every run was called");
    let twice: Vec<&String> = calls.iter().filter(|(_, n)| *n > 1).map(|(key, _)| key).collect();
    for key in &twice {
        assert!(calls.iter().all(|(k, n)| k != *key || *n == 2), "{key} ran more than twice");
        assert!(
            held.iter().any(|run| key.starts_with(&format!("{run}/"))),
            "{key} ran twice, and the killed worker did not hold it"
        );
        assert!(!finished_then.contains(key), "{key} had completed, and ran again");
    }
    assert!(twice.len() <= held.len(), "more than one step in flight per run held");
    // The killed worker's runs were taken over within the lease (2 s), plus a poll.
    let taken: Vec<i64> = db
        .query("SELECT leased_at_ms FROM queue WHERE run_id = ANY($1)", &[&held])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let slowest = taken.iter().map(|at| at - killed_at).max().unwrap_or(0);
    assert!(slowest <= 2000 + 1000, "a run was taken over {slowest} ms after its worker died");
    println!(
        "held {} runs; {} steps ran twice; taken over at most {slowest} ms after the kill",
        held.len(),
        twice.len()
    );
    drop_schema(&store).await;
}

/// Child processes, killed when dropped (a failing test leaves none behind).
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn workflow_store_now_ms() -> i64 {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    i64::try_from(ms).unwrap()
}

#[tokio::test]
async fn a_run_time_run_resumes_from_its_journal_alone() {
    silence_crashes();
    let calls = Calls::default();
    let journal = Arc::new(MemoryJournal::new());
    let tools = registry(&calls);
    let run = RunId::from("from-the-journal");
    // Crashed at the end of `total` (entry 5).
    let crashing: Arc<dyn Journal> = Arc::new(Crashing::new(journal.clone(), 5));
    let context = RunContext::new(&tools).with_journal(crashing, run.clone());
    let crashed = std::panic::AssertUnwindSafe(WorkflowExecutor::new().execute(
        &checkout::template(),
        context,
        json!({ "order_id": "o-1" }),
    ))
    .catch_unwind()
    .await;
    assert!(crashed.is_err());
    // Neither the definition nor the inputs are given again.
    let context = RunContext::new(&tools).with_journal(journal.clone(), run.clone());
    let done = WorkflowExecutor::new().resume(context).await.unwrap();
    assert_eq!(done.context.get_result("done"), Some(&json!("o-1: ch-50")));
    assert_eq!(calls.of("load_order").len(), 1);
    // A run the journal does not hold is refused, naming it.
    let context = RunContext::new(&tools).with_journal(journal.clone(), RunId::from("never-ran"));
    let error = WorkflowExecutor::new().resume(context).await.unwrap_err();
    assert_eq!(error.to_string(), "journal: the journal holds no run `never-ran`");
}

#[tokio::test]
async fn compensations_are_in_the_log_and_its_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("runs.db")).unwrap());
    let run = RunId::random();
    let flaky = Flaky::default();
    let context = RunContext::new(&flaky).with_journal(store.clone(), run.clone());
    // `boom` panics, so `payment` is compensated by `refund`, which fails.
    let error = guarded(SECRET_LINE.into(), SECRET_KEY.into(), "ada".into()).run(context).await.unwrap_err();
    assert_eq!(error.step, "boom");
    let logged = store.run(&run).await.unwrap().unwrap();
    let compensation =
        logged.steps.iter().find(|s| s.step == format!("payment/{}", workflow_store::COMPENSATION));
    let compensation = compensation.unwrap_or_else(|| panic!("{:#?}", logged.steps));
    assert_eq!(compensation.tool, "refund");
    assert_eq!(compensation.state, StepState::Ended(workflow::StepStatus::Failed));
    assert!(
        compensation.error.as_deref().is_some_and(|e| e.contains("refused for key [REDACTED]")),
        "{compensation:?}"
    );
    assert!(compensation.seq > logged.steps.iter().find(|s| s.step == "boom").unwrap().seq);
    // The step it did not undo is still the success it was.
    let payment = logged.steps.iter().find(|s| s.step == "payment").unwrap();
    assert_eq!(payment.state, StepState::Ended(workflow::StepStatus::Succeeded));
    let mut jsonl = Vec::new();
    workflow_store::export_jsonl(&[logged], &mut jsonl).unwrap();
    let last: Value =
        serde_json::from_str(String::from_utf8(jsonl).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!((&last["tool_name"], &last["success"]), (&json!("refund"), &json!(false)));
}

/// Note an id.
#[tool]
async fn note_id(State(calls): State<Calls>, key: IdempotencyKey, id: String) -> Result<String, ToolError> {
    calls.note("note_id", &key);
    tokio::task::yield_now().await;
    Ok(format!("noted {id}"))
}

workflow! {
    /// One call per id, one at a time.
    pub fan(ids: Vec<String>) {
        noted = note_id(id: <<id>>) for id in <<ids>> max 1;
    }
}

#[tokio::test]
async fn a_fan_out_resumes_with_only_its_unfinished_calls() {
    silence_crashes();
    let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let reference = MemoryJournal::new();
    let reference = Arc::new(reference);
    let calls = Calls::default();
    let context = RunContext::new(&calls).with_journal(reference.clone(), RunId::random());
    let uncrashed = fan(ids.clone()).run(context).await.unwrap();
    // The run, the step, and a start and an end per call.
    let total = reference.entries().len();
    assert_eq!(total, 2 + 2 + 2 * ids.len());
    for k in 1..=total {
        let (calls, store) = (Calls::default(), Arc::new(MemoryJournal::new()));
        let crashing = Arc::new(Crashing::new(store.clone(), k));
        let run = RunId::from(format!("fan-{k}"));
        let context = RunContext::new(&calls).with_journal(crashing.clone(), run.clone());
        let crashed = std::panic::AssertUnwindSafe(fan(ids.clone()).run(context)).catch_unwind().await;
        assert!(crashed.is_err(), "k = {k}");
        let written = finished_steps(&crashing.kept());
        let context = RunContext::new(&calls).with_journal(store.clone(), run.clone());
        let resumed = fan(ids.clone()).run(context).await.unwrap();
        assert_eq!(resumed.noted, uncrashed.noted, "k = {k}");
        for (i, _) in ids.iter().enumerate() {
            let key = format!("{run}/noted/{i}");
            let times = calls.of("note_id").iter().filter(|c| **c == key).count();
            if written.contains(&format!("noted/{i}")) {
                assert_eq!(times, 1, "k = {k}: call {i} was written finished and was called again");
            } else {
                assert!((1..=2).contains(&times), "k = {k}: call {i} was called {times} times");
            }
        }
    }
    // Exported, a fan-out is its calls.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("runs.db")).unwrap());
    let context = RunContext::new(&calls).with_journal(sqlite.clone(), RunId::random());
    fan(ids.clone()).run(context).await.unwrap();
    let mut jsonl = Vec::new();
    assert_eq!(sqlite.export_jsonl(&mut jsonl).await.unwrap(), 4);
    let first: Value =
        serde_json::from_str(String::from_utf8(jsonl).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!((&first["tool_name"], &first["result"]), (&json!("note_id"), &json!("noted a")));
    assert_eq!(first["parameters"], json!({ "id": "a" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_loses_a_lease_stops_the_run() {
    let Some(store) = postgres("lease").await else { return };
    let run = store.enqueue("slow", "approval", json!({ "item": "laptop" })).await.unwrap();
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<(String, std::time::Instant)>();
    let ended_tx = Arc::new(Mutex::new(Some(ended_tx)));
    let handler: workflow_store::Handler = Arc::new(move |queued: workflow_store::QueuedRun| {
        let ended_tx = ended_tx.clone();
        Box::pin(async move {
            let calls = Calls::default();
            let context = RunContext::new(&calls)
                .with_journal(queued.journal.clone(), queued.run_id.clone())
                .with_cancellation(queued.lost.clone());
            // Waits up to 30 s for a signal that never comes, unless the run is stopped.
            let result = approvals::approval("laptop".into()).run(context).await;
            let error = result.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
            if let Some(tx) = ended_tx.lock().unwrap().take() {
                let _ = tx.send((error.clone(), std::time::Instant::now()));
            }
            Err(error)
        })
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let worker =
        workflow_store::Worker::new(store.clone(), "slow").lease(std::time::Duration::from_millis(600));
    let task = tokio::spawn(worker.run(handler, stop.clone()));
    // Once the run waits, another owner takes its lease.
    until_postgres_step(&store, &run, "decision").await;
    let schema = store.name().trim_start_matches("postgres schema ").to_owned();
    let db = pg_client(&schema).await;
    db.execute("UPDATE queue SET owner = 'someone-else' WHERE run_id = $1", &[&run.as_str()]).await.unwrap();
    let taken = std::time::Instant::now();
    let (error, ended) =
        tokio::time::timeout(std::time::Duration::from_secs(10), ended_rx).await.unwrap().unwrap();
    assert!(error.contains("the run was cancelled"), "{error}");
    // Told at its next renewal: within a third of the lease, and a little.
    assert!(
        ended.duration_since(taken) < std::time::Duration::from_millis(600),
        "{:?}",
        ended.duration_since(taken)
    );
    // The worker does not record an outcome for a run it no longer holds.
    assert_eq!(store.result(&run).await.unwrap(), None);
    stop.cancel();
    task.await.unwrap().unwrap();
    drop_schema(&store).await;
}

/// Waits until `step` of `run` is running in the PostgreSQL store.
async fn until_postgres_step(store: &PostgresStore, run: &RunId, step: &str) {
    for _ in 0..400 {
        let found = store.run(run).await.unwrap();
        if found.iter().flat_map(|r| &r.steps).any(|s| s.step == step && s.state == StepState::Running) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("`{step}` never started");
}
