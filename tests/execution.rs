//! How compiled workflows run: failures, panics, skipping, retries, timeouts, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use workflow::prelude::*;
use workflow::{RunContext, StepError};

/// Return the number.
#[tool]
async fn num(n: i64) -> Result<i64, ToolError> {
    Ok(n)
}

/// Fail with a permanent error.
#[tool]
async fn fail(reason: String) -> Result<i64, ToolError> {
    Err(ToolError::permanent(reason))
}

/// Panic.
#[tool]
async fn explode(n: i64) -> Result<i64, ToolError> {
    if n >= 0 {
        panic!("boom at {n}");
    }
    Ok(n)
}

/// Never finish.
#[tool]
async fn hang() -> Result<i64, ToolError> {
    std::future::pending().await
}

/// A list of numbers.
#[tool]
async fn list(len: usize) -> Result<Vec<i64>, ToolError> {
    Ok((0..len as i64).collect())
}

/// A JSON document.
#[tool]
async fn document() -> Result<Value, ToolError> {
    Ok(json!({ "user": { "name": "Mia", "tags": ["a", "b"] }, "count": 2 }))
}

/// Concatenate.
#[tool]
async fn concat(text: String) -> Result<String, ToolError> {
    Ok(text)
}

workflow! {
    /// A panic in the second level fails that step only.
    panics() {
        first = num(n: 1);
        boom = explode(n: <<first>>);
        after = num(n: <<boom>>);
    }

    /// A failing step stops the run.
    fails() {
        ok = num(n: 1);
        bad = fail(reason: "no such repository");
        later = num(n: <<ok>> + <<bad>>);
    }

    /// Conditions skip steps and what depends on them.
    conditional(go: bool) {
        start = num(n: 5);
        maybe = num(n: <<start>> * 2) if <<go>>;
        uses_maybe = num(n: <<maybe>> + 1);
        ordered = num(n: 0) depends uses_maybe;
        always = num(n: <<start>>);
    }

    /// `on_error skip` records the failure and goes on.
    tolerant() {
        bad = fail(reason: "flaky") on_error skip;
        needs_bad = num(n: <<bad>>);
        fine = num(n: 3);
    }

    /// An index past the end fails the step, naming the reference.
    out_of_range() {
        items = list(len: 2);
        third = num(n: <<items[2]>>);
    }

    /// References into JSON outputs are checked when they run.
    json_paths() {
        doc = document();
        greeting = concat(text: r#"Hi <<doc["user"]["name"]>>, tag <<doc["user"]["tags"][-1]>>"#);
        count = num(n: <<doc["count"]>>.as_i64().unwrap_or(-1));
    }

    /// A missing key fails the step, naming the reference.
    json_missing() {
        doc = document();
        missing = concat(text: r#"<<doc["nobody"]>>"#);
    }

    /// A step that never finishes is cut by its timeout.
    hangs() {
        stuck = hang() timeout 50ms;
    }
}

#[tokio::test]
async fn a_panicking_tool_fails_its_step_not_the_process() {
    let err = panics().run(&()).await.unwrap_err();
    assert_eq!(err.step, "boom");
    assert!(matches!(&err.error, StepError::Panicked { message, .. } if message == "boom at 1"));
    assert_eq!(err.record.step("first").unwrap().status, StepStatus::Succeeded);
    assert_eq!(err.record.step("boom").unwrap().status, StepStatus::Failed);
    let after = err.record.step("after").unwrap();
    assert_eq!(after.status, StepStatus::Skipped, "a step after the failure never runs");
    assert_eq!(after.error.as_deref(), Some("the run is stopping after `boom` failed"));
}

#[tokio::test]
async fn a_failing_step_stops_the_run_and_keeps_the_record() {
    let err = fails().run(&()).await.unwrap_err();
    assert_eq!(err.step, "bad");
    assert_eq!(
        err.to_string(),
        "workflow `fails` failed at step `bad`: tool `fail` failed: no such repository"
    );
    assert_eq!(err.record.step("ok").unwrap().status, StepStatus::Succeeded, "the sibling's record is kept");
    assert_eq!(
        err.record.step("bad").unwrap().error.as_deref(),
        Some("tool `fail` failed: no such repository")
    );
}

#[tokio::test]
async fn a_false_condition_skips_the_step_and_its_dependents() {
    let run = conditional(false).run(&()).await.unwrap();
    assert_eq!((run.maybe, run.uses_maybe, run.ordered, run.always), (None, None, None, 5));
    for id in ["maybe", "uses_maybe", "ordered"] {
        assert_eq!(run.record.step(id).unwrap().status, StepStatus::Skipped, "{id}");
        assert!(run.record.step(id).unwrap().attempts.is_empty());
    }
    let run = conditional(true).run(&()).await.unwrap();
    assert_eq!((run.maybe, run.uses_maybe, run.ordered), (Some(10), Some(11), Some(0)));
}

#[tokio::test]
async fn on_error_skip_records_a_failure_and_skips_dependents() {
    let run = tolerant().run(&()).await.unwrap();
    assert_eq!(run.bad, None);
    assert_eq!(run.needs_bad, None);
    assert_eq!(run.fine, 3);
    assert_eq!(run.record.step("bad").unwrap().status, StepStatus::Failed);
    assert_eq!(run.record.step("needs_bad").unwrap().status, StepStatus::Skipped);
    assert!(!run.record.succeeded());
}

#[tokio::test]
async fn an_index_out_of_range_names_the_reference() {
    let err = out_of_range().run(&()).await.unwrap_err();
    assert_eq!(err.step, "third");
    assert_eq!(err.error.to_string(), "reference `items[2]`: index 2 is out of range for a list of 2 items");
}

#[tokio::test]
async fn json_outputs_are_read_by_key_and_interpolated_without_quotes() {
    let run = json_paths().run(&()).await.unwrap();
    assert_eq!(run.greeting, "Hi Mia, tag b");
    assert_eq!(run.count, 2);
    let err = json_missing().run(&()).await.unwrap_err();
    assert_eq!(err.step, "missing");
    assert_eq!(err.error.to_string(), "reference `doc[\"nobody\"]`: no key `nobody`");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_tool_is_cut_by_its_timeout() {
    let err = hangs().run(&()).await.unwrap_err();
    assert!(matches!(err.error, StepError::TimedOut(d) if d == Duration::from_millis(50)));
    assert_eq!(err.record.step("stuck").unwrap().duration(), Some(Duration::from_millis(50)));
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Fail with a retryable error until the third call.
#[tool]
async fn flaky(ok_after: u32) -> Result<u32, ToolError> {
    let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if n <= ok_after { Err(ToolError::retryable(format!("attempt {n} failed"))) } else { Ok(n) }
}

workflow! {
    /// Retries with exponential backoff.
    retried() {
        value = flaky(ok_after: 2) retry 3 backoff 100ms x3;
    }
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially() {
    CALLS.store(0, Ordering::SeqCst);
    let run = retried().run(&()).await.unwrap();
    assert_eq!(run.value, 3);
    let record = run.record.step("value").unwrap();
    assert_eq!(record.attempts.len(), 3);
    // 100 ms before the second attempt, 300 ms before the third.
    assert_eq!(record.duration(), Some(Duration::from_millis(400)));
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    workflow! {
        once() { bad = fail(reason: "bad input") retry 5 backoff 1s; }
    }
    let err = once().run(&()).await.unwrap_err();
    assert_eq!(err.record.step("bad").unwrap().attempts.len(), 1);
}

/// Count drops of in-flight calls.
struct DropCounter(Arc<AtomicU32>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wait forever, counting the drop.
#[tool]
async fn wait_forever(State(drops): State<Arc<AtomicU32>>, n: u32) -> Result<u32, ToolError> {
    let _guard = DropCounter(drops);
    std::future::pending::<()>().await;
    Ok(n)
}

workflow! {
    /// Two steps in flight at once.
    two_in_flight() {
        a = wait_forever(n: 1);
        b = wait_forever(n: 2);
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_cancels_every_step_in_flight() {
    let drops = Arc::new(AtomicU32::new(0));
    let run = two_in_flight().run(&drops);
    let timed_out = tokio::time::timeout(Duration::from_secs(1), run).await;
    assert!(timed_out.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 2, "both in-flight tool futures were dropped");
}

#[test]
fn run_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let state = Arc::new(AtomicU32::new(0));
    assert_send(&two_in_flight().run(&state));
    assert_send(&conditional(true).run(&()));
}

/// Fail with a text error (`Err("…".into())`) until the third call.
static TEXT_CALLS: AtomicU32 = AtomicU32::new(0);

/// Fail twice with a plain text error, then succeed.
#[tool]
async fn text_flaky() -> Result<u32, ToolError> {
    let call = TEXT_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call < 3 { Err(format!("try {call} failed").into()) } else { Ok(call) }
}

#[tokio::test(start_paused = true)]
async fn a_text_error_is_retryable_unless_marked_permanent() {
    workflow! {
        texty() { value = text_flaky() retry 3 backoff 1s; }
    }
    TEXT_CALLS.store(0, Ordering::SeqCst);
    let run = texty().run(&()).await.expect("the third call succeeds");
    assert_eq!(run.value, 3);
    let attempts: Vec<Option<String>> =
        run.record.step("value").unwrap().attempts.iter().map(|a| a.error.clone()).collect();
    assert_eq!(
        attempts,
        [
            Some("tool `text_flaky` failed: try 1 failed".to_owned()),
            Some("tool `text_flaky` failed: try 2 failed".to_owned()),
            None
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_text_error_is_retried_in_a_run_time_workflow_too() {
    let mut registry = workflow::ToolRegistry::new(());
    registry.register::<text_flaky>().unwrap();
    let workflow =
        &workflow::WorkflowTemplate::from_dsl("texty() { value = text_flaky() retry 3 backoff 1s; }")
            .unwrap()[0];
    TEXT_CALLS.store(0, Ordering::SeqCst);
    let run = workflow::WorkflowExecutor::new()
        .execute(workflow, &registry, serde_json::json!({}))
        .await
        .expect("retried");
    assert_eq!(run.context.get_result("value"), Some(&serde_json::json!(3)));
    assert_eq!(run.record.step("value").unwrap().attempts.len(), 3);
}

/// Fail until the fourth call (for jitter schedules).
static JITTER_CALLS: AtomicU32 = AtomicU32::new(0);

/// Fail three times, then succeed.
#[tool]
async fn jittery() -> Result<u32, ToolError> {
    let call = JITTER_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call < 4 { Err("not yet".into()) } else { Ok(call) }
}

workflow! {
    jittered() { value = jittery() retry 3 backoff 1s x2 jitter; }
}

/// The waits between a step's attempts.
fn waits(record: &workflow::StepRecord) -> Vec<Duration> {
    let attempts: Vec<_> = record.attempts.iter().collect();
    attempts.windows(2).map(|w| w[1].started - w[0].finished).collect()
}

async fn compiled_waits(seed: u64) -> Vec<Duration> {
    JITTER_CALLS.store(0, Ordering::SeqCst);
    let run =
        jittered().run(RunContext::new(&()).with_jitter_seed(seed)).await.expect("the fourth call succeeds");
    waits(run.record.step("value").unwrap())
}

#[tokio::test(start_paused = true)]
async fn jitter_is_full_and_a_seed_gives_the_same_schedule_compiled_and_at_run_time() {
    let first = compiled_waits(7).await;
    assert_eq!(first.len(), 3);
    // Full jitter: each wait lies in [0, the capped delay] of 1 s, 2 s, 4 s, and they are not
    // the delays themselves.
    for (wait, cap) in first.iter().zip([1, 2, 4]) {
        assert!(*wait <= Duration::from_secs(cap), "{wait:?} > {cap} s");
    }
    assert_ne!(first, [1, 2, 4].map(Duration::from_secs));
    assert_eq!(compiled_waits(7).await, first, "the same seed, the same schedule");
    assert_ne!(compiled_waits(8).await, first, "another seed, another schedule");

    let mut registry = workflow::ToolRegistry::new(());
    registry.register::<jittery>().unwrap();
    let template = jittered::template();
    JITTER_CALLS.store(0, Ordering::SeqCst);
    let run = workflow::WorkflowExecutor::new()
        .execute(&template, RunContext::new(&registry).with_jitter_seed(7), serde_json::json!({}))
        .await
        .expect("retried");
    assert_eq!(waits(run.record.step("value").unwrap()), first, "run-time workflows draw alike");
}

/// Fail every time, retryably.
#[tool]
async fn always_fails() -> Result<u32, ToolError> {
    Err("down".into())
}

/// Take ten seconds.
#[tool]
async fn slow() -> Result<u32, ToolError> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(1)
}

workflow! {
    budgeted() { value = always_fails() retry 5 backoff 1s deadline 2500ms; }
}

workflow! {
    cut_short() { value = slow() retry 2 deadline 3s; }
}

#[tokio::test(start_paused = true)]
async fn a_deadline_bounds_every_attempt_and_wait_of_a_step() {
    // Calls at 0 s and 1 s fail; the deadline passes during the 2 s wait before the third.
    let err = budgeted().run(&()).await.expect_err("the deadline passes");
    assert!(
        matches!(err.error, StepError::DeadlineExceeded(d) if d == Duration::from_millis(2500)),
        "{:?}",
        err.error
    );
    let step = err.record.step("value").unwrap();
    assert_eq!(step.attempts.len(), 2);
    assert_eq!(step.duration(), Some(Duration::from_millis(2500)));
    assert_eq!(step.error.as_deref(), Some("deadline of 2.5s passed"));

    // The same workflow at run time ends the same way.
    let mut registry = workflow::ToolRegistry::new(());
    registry.register::<always_fails>().unwrap();
    let err = workflow::WorkflowExecutor::new()
        .execute(&budgeted::template(), &registry, serde_json::json!({}))
        .await
        .expect_err("the deadline passes");
    let record = match &err {
        workflow::ExecuteError::Failed(failed) => &failed.record,
        other => panic!("{other}"),
    };
    let step = record.step("value").unwrap();
    assert_eq!((step.attempts.len(), step.duration()), (2, Some(Duration::from_millis(2500))));
    assert_eq!(step.error.as_deref(), Some("deadline of 2.5s passed"));
}

#[tokio::test(start_paused = true)]
async fn a_call_the_deadline_cuts_short_is_recorded_as_a_failed_attempt() {
    let err = cut_short().run(&()).await.expect_err("the deadline passes");
    let step = err.record.step("value").unwrap();
    assert_eq!(step.attempts.len(), 1);
    let attempt = step.attempts.get(0).unwrap();
    assert_eq!(attempt.duration(), Duration::from_secs(3));
    assert_eq!(attempt.error.as_deref(), Some("deadline of 3s passed"));
}
