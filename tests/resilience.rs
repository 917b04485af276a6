//! Failure strategies, trigger rules, fallbacks, compensations and retry classes, each run as a
//! compiled `workflow!` and as its run-time template (`name::template()` through the
//! `WorkflowExecutor`), which must end every step the same way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use workflow::prelude::*;
use workflow::{ExecuteError, RunRecord, StepError, WorkflowExecutor, WorkflowTemplate};

/// Give 1, or fail when `mode` is `fail`.
#[tool]
async fn act(mode: String) -> Result<i64, ToolError> {
    if mode == "fail" { Err(ToolError::permanent("asked to fail")) } else { Ok(1) }
}

/// Give 2 after 10 ms.
#[tool]
async fn slow() -> Result<i64, ToolError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(2)
}

// The failure matrix: the upstream step `up` (succeeds, fails, or is skipped by its condition)
// with a failure strategy, a step `down` after it with a trigger rule, `last` after `down`, and
// `side`, which runs beside `up` and takes longer.
workflow! {
    /// abort × default.
    m_abort_default(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>>;
        side = slow();
        down = act(mode: "ok") depends up;
        last = act(mode: "ok") depends down;
    }
    /// abort × after failed.
    m_abort_failed(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>>;
        side = slow();
        down = act(mode: "ok") after up failed;
        last = act(mode: "ok") depends down;
    }
    /// abort × after always.
    m_abort_always(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>>;
        side = slow();
        down = act(mode: "ok") after up always;
        last = act(mode: "ok") depends down;
    }
    /// skip × default.
    m_skip_default(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error skip;
        side = slow();
        down = act(mode: "ok") depends up;
        last = act(mode: "ok") depends down;
    }
    /// skip × after failed.
    m_skip_failed(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error skip;
        side = slow();
        down = act(mode: "ok") after up failed;
        last = act(mode: "ok") depends down;
    }
    /// skip × after always.
    m_skip_always(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error skip;
        side = slow();
        down = act(mode: "ok") after up always;
        last = act(mode: "ok") depends down;
    }
    /// fallback × default.
    m_fallback_default(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error fallback act(mode: "ok");
        side = slow();
        down = act(mode: "ok") depends up;
        last = act(mode: "ok") depends down;
    }
    /// fallback × after failed.
    m_fallback_failed(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error fallback act(mode: "ok");
        side = slow();
        down = act(mode: "ok") after up failed;
        last = act(mode: "ok") depends down;
    }
    /// fallback × after always.
    m_fallback_always(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error fallback act(mode: "ok");
        side = slow();
        down = act(mode: "ok") after up always;
        last = act(mode: "ok") depends down;
    }
}

/// How `up` ends: it succeeds, fails, or its condition is false.
#[derive(Debug, Clone, Copy)]
enum Up {
    Succeeds,
    Fails,
    Skipped,
}

impl Up {
    fn inputs(self) -> (String, bool) {
        match self {
            Up::Succeeds => ("ok".into(), true),
            Up::Fails => ("fail".into(), true),
            Up::Skipped => ("ok".into(), false),
        }
    }
}

/// Statuses of `up`, `side`, `down`, `last`, one letter each: `S`ucceeded, `F`ailed,
/// s`K`ipped, `C`ancelled, with `+` after `up` when its fallback gave its output; and whether the
/// run failed.
fn statuses(record: &RunRecord, failed: bool) -> String {
    let mut out = String::new();
    for id in ["up", "side", "down", "last"] {
        let step = record.step(id).unwrap_or_else(|| panic!("no record of `{id}`"));
        out.push(match step.status {
            StepStatus::Succeeded => 'S',
            StepStatus::Failed => 'F',
            StepStatus::Skipped => 'K',
            StepStatus::Cancelled => 'C',
            other => panic!("`{id}` ended {other:?}"),
        });
        if id == "up" && step.fallback {
            out.push('+');
        }
    }
    out.push_str(if failed { " failed" } else { " ok" });
    out
}

macro_rules! compiled {
    ($workflow:ident, $up:expr) => {{
        let (mode, go) = $up.inputs();
        match $workflow(mode, go).run(&()).await {
            Ok(run) => statuses(&run.record, false),
            Err(err) => statuses(&err.record, true),
        }
    }};
}

async fn at_run_time(template: &WorkflowTemplate, up: Up) -> String {
    let mut tools = ToolRegistry::new(());
    tools.register::<act>().unwrap();
    tools.register::<slow>().unwrap();
    let (mode, go) = up.inputs();
    match WorkflowExecutor::new().execute(template, &tools, json!({ "mode": mode, "go": go })).await {
        Ok(run) => statuses(&run.record, false),
        Err(ExecuteError::Failed(err)) => statuses(&err.record, true),
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_failure_matrix_is_the_same_for_compiled_and_run_time_workflows() {
    use Up::*;
    // (strategy × trigger, upstream) → statuses of up, side, down, last.
    let table: &[(&str, Up, &str)] = &[
        ("abort default", Succeeds, "SSSS ok"),
        ("abort default", Fails, "FCKK failed"),
        ("abort default", Skipped, "KSKK ok"),
        ("abort failed", Succeeds, "SSKK ok"),
        ("abort failed", Fails, "FCSK failed"),
        ("abort failed", Skipped, "KSKK ok"),
        ("abort always", Succeeds, "SSSS ok"),
        ("abort always", Fails, "FCSK failed"),
        ("abort always", Skipped, "KSSS ok"),
        ("skip default", Succeeds, "SSSS ok"),
        ("skip default", Fails, "FSKK ok"),
        ("skip default", Skipped, "KSKK ok"),
        ("skip failed", Succeeds, "SSKK ok"),
        ("skip failed", Fails, "FSSS ok"),
        ("skip failed", Skipped, "KSKK ok"),
        ("skip always", Succeeds, "SSSS ok"),
        ("skip always", Fails, "FSSS ok"),
        ("skip always", Skipped, "KSSS ok"),
        ("fallback default", Succeeds, "SSSS ok"),
        ("fallback default", Fails, "S+SSS ok"),
        ("fallback default", Skipped, "KSKK ok"),
        ("fallback failed", Succeeds, "SSKK ok"),
        ("fallback failed", Fails, "S+SKK ok"),
        ("fallback failed", Skipped, "KSKK ok"),
        ("fallback always", Succeeds, "SSSS ok"),
        ("fallback always", Fails, "S+SSS ok"),
        ("fallback always", Skipped, "KSSS ok"),
    ];
    for &(case, up, expected) in table {
        let (compiled, template) = match case {
            "abort default" => (compiled!(m_abort_default, up), m_abort_default::template()),
            "abort failed" => (compiled!(m_abort_failed, up), m_abort_failed::template()),
            "abort always" => (compiled!(m_abort_always, up), m_abort_always::template()),
            "skip default" => (compiled!(m_skip_default, up), m_skip_default::template()),
            "skip failed" => (compiled!(m_skip_failed, up), m_skip_failed::template()),
            "skip always" => (compiled!(m_skip_always, up), m_skip_always::template()),
            "fallback default" => (compiled!(m_fallback_default, up), m_fallback_default::template()),
            "fallback failed" => (compiled!(m_fallback_failed, up), m_fallback_failed::template()),
            "fallback always" => (compiled!(m_fallback_always, up), m_fallback_always::template()),
            other => unreachable!("{other}"),
        };
        assert_eq!(compiled, expected, "compiled, {case}, up {up:?}");
        assert_eq!(at_run_time(&template, up).await, expected, "run-time, {case}, up {up:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn records_say_why_a_step_did_not_run() {
    let err = m_abort_failed("fail".into(), true).run(&()).await.unwrap_err();
    let reason = |id: &str| err.record.step(id).unwrap().error.clone().unwrap();
    assert_eq!(err.step, "up");
    assert_eq!(reason("side"), "cancelled: the run is stopping after `up` failed");
    assert_eq!(reason("last"), "the run is stopping after `up` failed");
    let run = m_skip_failed("ok".into(), true).run(&()).await.unwrap();
    assert_eq!(
        run.record.step("down").unwrap().error.as_deref(),
        Some("`up` succeeded, and this step runs only if it fails")
    );
    assert_eq!(run.down, None);
}

// ---------------------------------------------------------------- the saga

/// What the compensations did.
#[derive(Default)]
struct Ledger {
    undone: Mutex<Vec<String>>,
    refusals: Mutex<HashMap<String, u32>>,
}

/// A booking.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
struct Booking {
    /// Its id.
    id: String,
}

/// Book `what`.
#[tool]
async fn book(what: String) -> Result<Booking, ToolError> {
    Ok(Booking { id: format!("{what}-1") })
}

/// Refuse to book `what`.
#[tool]
async fn refuse(what: String) -> Result<Booking, ToolError> {
    Err(ToolError::permanent(format!("no {what} left")))
}

/// Cancel booking `id`; the hotel's first cancellation fails.
#[tool]
async fn unbook(State(ledger): State<Arc<Ledger>>, id: String) -> Result<(), ToolError> {
    let mut refusals = ledger.refusals.lock().unwrap();
    let count = refusals.entry(id.clone()).or_default();
    *count += 1;
    if id == "hotel-1" && *count == 1 {
        return Err(ToolError::retryable("the hotel's line is busy"));
    }
    ledger.undone.lock().unwrap().push(id);
    Ok(())
}

workflow! {
    /// Book a trip; the museum is full.
    trip() {
        flight = book(what: "flight") compensate unbook(id: <<flight.id>>);
        hotel = book(what: "hotel") depends flight compensate unbook(id: <<hotel.id>>);
        car = book(what: "car") depends hotel compensate unbook(id: <<car.id>>);
        museum = refuse(what: "museum") depends car;
    }
}

fn check_saga(record: &RunRecord, ledger: &Ledger) {
    assert_eq!(*ledger.undone.lock().unwrap(), ["car-1", "hotel-1", "flight-1"], "latest first");
    let order: Vec<&str> = record.compensations.iter().map(|c| c.step.as_ref()).collect();
    assert_eq!(order, ["car", "hotel", "flight"]);
    let hotel = &record.compensations[1];
    assert_eq!(
        (hotel.tool.as_ref(), hotel.status, hotel.attempts.len()),
        ("unbook", StepStatus::Succeeded, 2)
    );
    assert_eq!(hotel.duration(), Some(Duration::from_secs(1)), "retried after its 1 s backoff");
    for id in ["flight", "hotel", "car"] {
        assert_eq!(record.step(id).unwrap().status, StepStatus::Compensated, "{id}");
    }
    assert_eq!(record.step("museum").unwrap().status, StepStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_compensates_the_steps_that_completed_latest_first() {
    let ledger = Arc::new(Ledger::default());
    let err = trip().run(&ledger).await.unwrap_err();
    assert_eq!(err.step, "museum");
    check_saga(&err.record, &ledger);

    let ledger = Arc::new(Ledger::default());
    let mut tools = ToolRegistry::new(ledger.clone());
    tools.register::<book>().unwrap();
    tools.register::<refuse>().unwrap();
    tools.register::<unbook>().unwrap();
    let template = trip::template();
    assert_eq!(template.steps[0].compensate.as_ref().map(|c| c.tool_name.as_str()), Some("unbook"));
    match WorkflowExecutor::new().execute(&template, &tools, json!({})).await {
        Err(ExecuteError::Failed(err)) => check_saga(&err.record, &ledger),
        other => panic!("{other:?}"),
    }
}

/// Refuse to cancel booking `id`.
#[tool]
async fn keep(id: String) -> Result<(), ToolError> {
    Err(ToolError::permanent(format!("{id} cannot be cancelled")))
}

workflow! {
    /// Book a trip whose car cannot be cancelled; the museum is full.
    trip_kept() {
        flight = book(what: "flight") compensate unbook(id: <<flight.id>>);
        car = book(what: "car") depends flight compensate keep(id: <<car.id>>);
        museum = refuse(what: "museum") depends car;
    }
}

fn check_kept(record: &RunRecord, ledger: &Ledger) {
    let car = &record.compensations[0];
    assert_eq!((car.step.as_ref(), car.status, car.attempts.len()), ("car", StepStatus::Failed, 1));
    assert_eq!(car.error.as_deref(), Some("tool `keep` failed: car-1 cannot be cancelled"));
    assert_eq!(record.step("car").unwrap().status, StepStatus::Succeeded, "not undone");
    assert_eq!(record.step("flight").unwrap().status, StepStatus::Compensated);
    assert_eq!(*ledger.undone.lock().unwrap(), ["flight-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_compensation_is_recorded_and_the_others_still_run() {
    let ledger = Arc::new(Ledger::default());
    let err = trip_kept().run(&ledger).await.unwrap_err();
    check_kept(&err.record, &ledger);

    let ledger = Arc::new(Ledger::default());
    let mut tools = ToolRegistry::new(ledger.clone());
    tools.register::<book>().unwrap();
    tools.register::<refuse>().unwrap();
    tools.register::<unbook>().unwrap();
    tools.register::<keep>().unwrap();
    match WorkflowExecutor::new().execute(&trip_kept::template(), &tools, json!({})).await {
        Err(ExecuteError::Failed(err)) => check_kept(&err.record, &ledger),
        other => panic!("{other:?}"),
    }

    // A compensation that reads a field the step's output does not have is rejected up front.
    let mut template = trip_kept::template();
    template.steps[0].compensate.as_mut().unwrap().parameters.insert("id".into(), json!("{{flight.nope}}"));
    let Err(ExecuteError::Invalid(problems)) =
        WorkflowExecutor::new().execute(&template, &tools, json!({})).await
    else {
        panic!("`flight.nope` is not a field of `book`'s output")
    };
    assert!(problems.to_string().contains("nope"), "{problems}");
}

// ---------------------------------------------------------------- retry classes

/// Fail with `class` for the first `fails` calls.
#[tool]
async fn throttled(State(calls): State<Arc<AtomicU32>>, class: String, fails: u32) -> Result<u32, ToolError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call <= fails {
        return Err(ToolError::retryable(format!("call {call} refused")).with_class(class));
    }
    Ok(call)
}

workflow! {
    /// Retries only rate limits.
    rate_limited_only(class: String) {
        call = throttled(class: <<class>>, fails: 2) retry 3 backoff 1s on rate_limited, unavailable;
    }
}

#[tokio::test(start_paused = true)]
async fn a_step_retries_only_the_error_classes_it_names() {
    for (class, attempts, ok) in [("rate_limited", 3, true), ("unavailable", 3, true), ("quota", 1, false)] {
        let calls = Arc::new(AtomicU32::new(0));
        let result = rate_limited_only(class.into()).run(&calls).await;
        let record = match &result {
            Ok(run) => &run.record,
            Err(err) => &err.record,
        };
        assert_eq!(record.step("call").unwrap().attempts.len(), attempts, "{class}");
        assert_eq!(result.is_ok(), ok, "{class}");

        let calls = Arc::new(AtomicU32::new(0));
        let mut tools = ToolRegistry::new(calls.clone());
        tools.register::<throttled>().unwrap();
        let template = rate_limited_only::template();
        assert_eq!(template.steps[0].retry_on, ["rate_limited", "unavailable"]);
        let run = WorkflowExecutor::new().execute(&template, &tools, json!({ "class": class })).await;
        let record = match &run {
            Ok(run) => &run.record,
            Err(ExecuteError::Failed(err)) => &err.record,
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(record.step("call").unwrap().attempts.len(), attempts, "run-time, {class}");
    }
}

/// Never finish.
#[tool]
async fn hang() -> Result<u32, ToolError> {
    std::future::pending().await
}

workflow! {
    /// A timeout is the class `timeout`.
    timeouts_retried() {
        stuck = hang() timeout 50ms retry 2 backoff 1s on timeout;
    }
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_of_the_class_timeout() {
    let err = timeouts_retried().run(&()).await.unwrap_err();
    assert!(matches!(err.error, StepError::TimedOut(_)), "{:?}", err.error);
    assert_eq!(err.error.class(), Some("timeout"));
    assert_eq!(err.record.step("stuck").unwrap().attempts.len(), 3);
}

// ---------------------------------------------------------------- fan-out

/// A job for `work`.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
struct Job {
    /// Its number.
    n: u64,
    /// How long it takes.
    ms: u64,
}

/// The jobs, the first ones slowest, and the one numbered in `fail` failing.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
struct Jobs {
    /// The jobs.
    jobs: Vec<Job>,
}

/// Eight jobs: job `n` takes `(8 - n) × 10` ms.
#[tool]
async fn jobs() -> Result<Jobs, ToolError> {
    Ok(Jobs { jobs: (0..8).map(|n| Job { n, ms: (8 - n) * 10 }).collect() })
}

/// How many `work` calls run at once, at most, and which jobs fail.
#[derive(Default)]
struct Gauge {
    now: AtomicU32,
    most: AtomicU32,
    fail: Mutex<Vec<u64>>,
}

/// Do job `n`: wait `ms`, give `n × 10`; fail when `n` is one of the gauge's failing jobs.
#[tool]
async fn work(State(gauge): State<Arc<Gauge>>, n: u64, ms: u64) -> Result<u64, ToolError> {
    let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.most.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    gauge.now.fetch_sub(1, Ordering::SeqCst);
    if gauge.fail.lock().unwrap().contains(&n) {
        return Err(ToolError::permanent(format!("job {n} broke")));
    }
    Ok(n * 10)
}

workflow! {
    /// Every job, three at a time.
    all_jobs() {
        list = jobs();
        done = work(n: <<job.n>>, ms: <<job.ms>>) for job in <<list.jobs>> max 3;
    }
    /// Every job, two failures allowed.
    some_jobs() {
        list = jobs();
        done = work(n: <<job.n>>, ms: <<job.ms>>) for job in <<list.jobs>> tolerate 2;
    }
}

fn work_tools(gauge: &Arc<Gauge>) -> ToolRegistry<Arc<Gauge>> {
    let mut tools = ToolRegistry::new(gauge.clone());
    tools.register::<jobs>().unwrap();
    tools.register::<work>().unwrap();
    tools
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_keeps_input_order_and_never_exceeds_its_limit() {
    let gauge = Arc::new(Gauge::default());
    let run = all_jobs().run(&gauge).await.unwrap();
    let expected: Vec<u64> = (0..8).map(|n| n * 10).collect();
    assert_eq!(run.done, expected, "in input order, though the last jobs finish first");
    assert_eq!(gauge.most.load(Ordering::SeqCst), 3);
    let record = run.record.step("done").unwrap();
    assert_eq!(record.attempts.len(), 8);

    let gauge = Arc::new(Gauge::default());
    let template = all_jobs::template();
    assert_eq!(template.steps[1].for_each.as_ref().map(|f| f.max), Some(Some(3)));
    let run = WorkflowExecutor::new().execute(&template, &work_tools(&gauge), json!({})).await.unwrap();
    assert_eq!(run.context.get_result("done"), Some(&json!(expected)));
    assert_eq!(gauge.most.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn tolerate_k_lets_exactly_k_calls_fail() {
    // Two failures: tolerated, reported, and `None` in their places.
    let gauge = Arc::new(Gauge::default());
    *gauge.fail.lock().unwrap() = vec![1, 5];
    let run = some_jobs().run(&gauge).await.unwrap();
    let expected = [Some(0), None, Some(20), Some(30), Some(40), None, Some(60), Some(70)];
    assert_eq!(run.done, expected);
    let record = run.record.step("done").unwrap();
    assert_eq!(
        record.error.as_deref(),
        Some(
            "2 of 8 calls failed (tolerated): item 1: tool `work` failed: job 1 broke; item 5: tool `work` failed: job 5 broke"
        )
    );
    let run = WorkflowExecutor::new()
        .execute(&some_jobs::template(), &work_tools(&gauge), json!({}))
        .await
        .unwrap();
    assert_eq!(run.context.get_result("done"), Some(&json!([0, null, 20, 30, 40, null, 60, 70])));

    // Three: one too many.
    let gauge = Arc::new(Gauge::default());
    *gauge.fail.lock().unwrap() = vec![1, 5, 6];
    let err = some_jobs().run(&gauge).await.unwrap_err();
    assert!(
        matches!(
            err.error,
            StepError::TooManyFailures { failed: 3, total: 8, tolerate: 2, first_item: 1, .. }
        ),
        "{:?}",
        err.error
    );
    assert_eq!(err.record.step("done").unwrap().status, StepStatus::Failed);
    match WorkflowExecutor::new().execute(&some_jobs::template(), &work_tools(&gauge), json!({})).await {
        Err(ExecuteError::Failed(err)) => {
            assert!(matches!(err.error, StepError::TooManyFailures { failed: 3, .. }), "{:?}", err.error);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- stopped from outside

/// Book `what`, taking a second.
#[tool]
async fn book_slowly(what: String) -> Result<Booking, ToolError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Booking { id: format!("{what}-1") })
}

workflow! {
    /// A trip whose hotel takes a second to book.
    slow_trip() {
        flight = book(what: "flight") compensate unbook(id: <<flight.id>>);
        hotel = book_slowly(what: "hotel") depends flight compensate unbook(id: <<hotel.id>>);
        car = book(what: "car") depends hotel compensate unbook(id: <<car.id>>);
    }
}

fn check_stopped(record: &RunRecord, ledger: &Ledger, why: &str) {
    assert!(record.cancelled, "{why}");
    let status = |id: &str| record.step(id).unwrap().status;
    assert_eq!(
        (status("flight"), status("hotel"), status("car")),
        (StepStatus::Compensated, StepStatus::Cancelled, StepStatus::Skipped),
        "{why}"
    );
    assert_eq!(*ledger.undone.lock().unwrap(), ["flight-1"], "{why}: only what completed is undone");
    assert_eq!(record.duration(), Duration::from_millis(500), "{why}: stopped at once");
}

fn slow_tools(ledger: &Arc<Ledger>) -> ToolRegistry<Arc<Ledger>> {
    let mut tools = ToolRegistry::new(ledger.clone());
    tools.register::<book>().unwrap();
    tools.register::<book_slowly>().unwrap();
    tools.register::<unbook>().unwrap();
    tools
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_compensates_what_completed() {
    use workflow::RunContext;
    use workflow::tokio_util::sync::CancellationToken;
    let cancel_after = |token: CancellationToken| {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            token.cancel();
        })
    };
    let ledger = Arc::new(Ledger::default());
    let token = CancellationToken::new();
    cancel_after(token.clone());
    let err = slow_trip().run(RunContext::new(&ledger).with_cancellation(token)).await.unwrap_err();
    assert!(matches!(err.error, StepError::Cancelled), "{:?}", err.error);
    assert_eq!(err.to_string(), "workflow `slow_trip` stopped: the run was cancelled");
    check_stopped(&err.record, &ledger, "compiled");

    let ledger = Arc::new(Ledger::default());
    let tools = slow_tools(&ledger);
    let token = CancellationToken::new();
    cancel_after(token.clone());
    let context = RunContext::new(&tools).with_cancellation(token);
    match WorkflowExecutor::new().execute(&slow_trip::template(), context, json!({})).await {
        Err(ExecuteError::Failed(err)) => {
            assert!(matches!(err.error, StepError::Cancelled), "{:?}", err.error);
            check_stopped(&err.record, &ledger, "run-time");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_past_its_deadline_stops_and_compensates() {
    use workflow::RunContext;
    let ledger = Arc::new(Ledger::default());
    let context = RunContext::new(&ledger).with_deadline(Duration::from_millis(500));
    let err = slow_trip().run(context).await.unwrap_err();
    assert!(matches!(err.error, StepError::RunDeadlineExceeded(d) if d == Duration::from_millis(500)));
    check_stopped(&err.record, &ledger, "compiled");

    let ledger = Arc::new(Ledger::default());
    let tools = slow_tools(&ledger);
    let context = RunContext::new(&tools).with_deadline(Duration::from_millis(500));
    match WorkflowExecutor::new().execute(&slow_trip::template(), context, json!({})).await {
        Err(ExecuteError::DeadlineExceeded(err)) => check_stopped(&err.record, &ledger, "run-time"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- conditions on how a step ended

workflow! {
    /// A report when `up` fails, a follow-up when it succeeds.
    status_tests(mode: String) {
        up = act(mode: <<mode>>) on_error skip;
        report = act(mode: "ok") if <<up.$failed>>;
        fine = act(mode: "ok") if <<up.$succeeded>> && <<up>> > 0;
    }
    /// A report while the run stops.
    status_while_stopping(mode: String) {
        up = act(mode: <<mode>>);
        report = act(mode: "ok") if <<up.$failed>>;
        other = act(mode: "ok") depends up;
    }
}

#[tokio::test(start_paused = true)]
async fn a_condition_can_test_how_a_step_ended() {
    let mut tools = ToolRegistry::new(());
    tools.register::<act>().unwrap();
    let status = |record: &RunRecord, id: &str| record.step(id).unwrap().status;
    for (mode, report, fine) in [
        ("fail", StepStatus::Succeeded, StepStatus::Skipped),
        ("ok", StepStatus::Skipped, StepStatus::Succeeded),
    ] {
        let run = status_tests(mode.into()).run(&()).await.unwrap();
        assert_eq!((status(&run.record, "report"), status(&run.record, "fine")), (report, fine), "{mode}");
        let template = status_tests::template();
        assert_eq!(template.steps[1].condition.as_deref(), Some("{{up.$failed}}"));
        let run = WorkflowExecutor::new().execute(&template, &tools, json!({ "mode": mode })).await.unwrap();
        assert_eq!(
            (status(&run.record, "report"), status(&run.record, "fine")),
            (report, fine),
            "run-time, {mode}"
        );
    }
    // While the run stops after `up` failed, the report still runs; `other` does not start.
    let err = status_while_stopping("fail".into()).run(&()).await.unwrap_err();
    assert_eq!(
        (status(&err.record, "report"), status(&err.record, "other")),
        (StepStatus::Succeeded, StepStatus::Skipped)
    );
    match WorkflowExecutor::new()
        .execute(&status_while_stopping::template(), &tools, json!({ "mode": "fail" }))
        .await
    {
        Err(ExecuteError::Failed(err)) => {
            assert_eq!(
                (status(&err.record, "report"), status(&err.record, "other")),
                (StepStatus::Succeeded, StepStatus::Skipped)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_status_test_is_checked_before_the_run() {
    let mut tools = ToolRegistry::new(());
    tools.register::<act>().unwrap();
    let template = WorkflowTemplate::from_yaml(
        r#"
name: w
steps:
  - { step_id: up, tool_name: act, parameters: { mode: ok } }
  - { step_id: a, tool_name: act, parameters: { mode: ok }, condition: "{{up.$faild}}" }
  - { step_id: b, tool_name: act, parameters: { mode: "{{up.$failed}}" } }
  - { step_id: c, tool_name: act, parameters: { mode: ok }, condition: "{{up.$failed.x}}" }
"#,
    )
    .unwrap();
    let problems = workflow::validate::validate(&template, &tools).unwrap_err().to_string();
    assert!(problems.contains("unknown status `$faild`; did you mean `$failed`?\n"), "{problems}");
    assert!(problems.contains("`up.$failed` tests how `up` ended and belongs in a condition"), "{problems}");
    assert!(problems.contains("a `$` name tests how a step ended and stands alone"), "{problems}");
}

// ---------------------------------------------------------------- a limit on calls in flight

workflow! {
    /// Six jobs at once, unless the run is limited.
    six_jobs() {
        a = work(n: 1, ms: 10);
        b = work(n: 2, ms: 10);
        c = work(n: 3, ms: 10);
        d = work(n: 4, ms: 10);
        e = work(n: 5, ms: 10);
        f = work(n: 6, ms: 10) retry 2;
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_makes_at_most_its_limit_of_calls_at_once() {
    use workflow::RunContext;
    let gauge = Arc::new(Gauge::default());
    let run = six_jobs().run(RunContext::new(&gauge).with_max_concurrency(2)).await.unwrap();
    assert_eq!(gauge.most.load(Ordering::SeqCst), 2);
    assert_eq!(run.record.duration(), Duration::from_millis(30));
    let gauge = Arc::new(Gauge::default());
    six_jobs().run(&gauge).await.unwrap();
    assert_eq!(gauge.most.load(Ordering::SeqCst), 6, "no limit without one");

    let gauge = Arc::new(Gauge::default());
    let tools = work_tools(&gauge);
    let context = RunContext::new(&tools).with_max_concurrency(2);
    let run = WorkflowExecutor::new().execute(&six_jobs::template(), context, json!({})).await.unwrap();
    assert_eq!(gauge.most.load(Ordering::SeqCst), 2);
    assert_eq!(run.record.duration(), Duration::from_millis(30));
}

workflow! {
    /// Told apart: a step cut by its timeout, and one whose tool failed.
    timeouts_told_apart(mode: String) {
        stuck = hang() timeout 50ms on_error skip;
        broken = act(mode: <<mode>>) on_error skip;
        slow_report = act(mode: "ok") if <<stuck.$timed_out>>;
        broken_report = act(mode: "ok") if <<broken.$failed>> && !<<broken.$timed_out>>;
    }
}

#[tokio::test(start_paused = true)]
async fn a_condition_tells_a_timeout_from_another_failure() {
    let mut tools = ToolRegistry::new(());
    tools.register::<act>().unwrap();
    tools.register::<hang>().unwrap();
    let status = |record: &RunRecord, id: &str| record.step(id).unwrap().status;
    let run = timeouts_told_apart("fail".into()).run(&()).await.unwrap();
    assert!(run.record.step("stuck").unwrap().timed_out);
    assert!(!run.record.step("broken").unwrap().timed_out);
    assert_eq!(status(&run.record, "slow_report"), StepStatus::Succeeded);
    assert_eq!(status(&run.record, "broken_report"), StepStatus::Succeeded);
    let run = WorkflowExecutor::new()
        .execute(&timeouts_told_apart::template(), &tools, json!({ "mode": "fail" }))
        .await
        .unwrap();
    assert_eq!(status(&run.record, "slow_report"), StepStatus::Succeeded);
    assert_eq!(status(&run.record, "broken_report"), StepStatus::Succeeded);
    let run = timeouts_told_apart("ok".into()).run(&()).await.unwrap();
    assert_eq!(status(&run.record, "broken_report"), StepStatus::Skipped, "`broken` succeeded");
}

// ---------------------------------------------------------------- the same, scheduled eagerly

workflow! {
    /// abort × after failed, eagerly.
    #[schedule(eager)]
    e_abort_failed(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>>;
        side = slow();
        down = act(mode: "ok") after up failed;
        last = act(mode: "ok") depends down;
    }
    /// skip × after always, eagerly.
    #[schedule(eager)]
    e_skip_always(mode: String, go: bool) {
        up = act(mode: <<mode>>) if <<go>> on_error skip;
        side = slow();
        down = act(mode: "ok") after up always;
        last = act(mode: "ok") depends down;
    }
    /// A report when `up` fails, eagerly.
    #[schedule(eager)]
    e_status_tests(mode: String) {
        up = act(mode: <<mode>>) on_error skip;
        report = act(mode: "ok") if <<up.$failed>>;
        fine = act(mode: "ok") if <<up.$succeeded>> && <<up>> > 0;
    }
    /// The trip, eagerly.
    #[schedule(eager)]
    e_trip() {
        flight = book(what: "flight") compensate unbook(id: <<flight.id>>);
        hotel = book(what: "hotel") depends flight compensate unbook(id: <<hotel.id>>);
        car = book(what: "car") depends hotel compensate unbook(id: <<car.id>>);
        museum = refuse(what: "museum") depends car;
    }
    /// The slow trip, eagerly.
    #[schedule(eager)]
    e_slow_trip() {
        flight = book(what: "flight") compensate unbook(id: <<flight.id>>);
        hotel = book_slowly(what: "hotel") depends flight compensate unbook(id: <<hotel.id>>);
        car = book(what: "car") depends hotel compensate unbook(id: <<car.id>>);
    }
}

#[tokio::test(start_paused = true)]
async fn the_eager_schedule_follows_the_same_rules() {
    use Up::*;
    for (up, expected) in [(Succeeds, "SSKK ok"), (Fails, "FCSK failed"), (Skipped, "KSKK ok")] {
        assert_eq!(compiled!(e_abort_failed, up), expected, "abort failed, up {up:?}");
    }
    for (up, expected) in [(Succeeds, "SSSS ok"), (Fails, "FSSS ok"), (Skipped, "KSSS ok")] {
        assert_eq!(compiled!(e_skip_always, up), expected, "skip always, up {up:?}");
    }
    let status = |record: &RunRecord, id: &str| record.step(id).unwrap().status;
    let run = e_status_tests("fail".into()).run(&()).await.unwrap();
    assert_eq!(
        (status(&run.record, "report"), status(&run.record, "fine")),
        (StepStatus::Succeeded, StepStatus::Skipped)
    );

    let ledger = Arc::new(Ledger::default());
    let err = e_trip().run(&ledger).await.unwrap_err();
    assert_eq!(err.step, "museum");
    check_saga(&err.record, &ledger);

    let ledger = Arc::new(Ledger::default());
    let context = workflow::RunContext::new(&ledger).with_deadline(Duration::from_millis(500));
    let err = e_slow_trip().run(context).await.unwrap_err();
    assert!(matches!(err.error, StepError::RunDeadlineExceeded(_)), "{:?}", err.error);
    check_stopped(&err.record, &ledger, "eager");
}
