//! `#[schedule(eager)]`: each step of a compiled workflow starts as soon as what it needs has
//! ended, instead of after its whole level.

use std::time::Duration;

use tokio::time::Instant;
use workflow::prelude::*;

/// Wait `ms`, then give `n`; fail when `n` is negative.
#[tool]
async fn wait(n: i64, ms: u64) -> Result<i64, ToolError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if n < 0 { Err(ToolError::permanent(format!("{n} is negative"))) } else { Ok(n) }
}

workflow! {
    /// A slow branch and a quick chain, level by level.
    uneven_levels() {
        slow = wait(n: 1, ms: 100);
        quick = wait(n: 2, ms: 10);
        after_slow = wait(n: <<slow>>, ms: 10);
        after_quick = wait(n: <<quick>>, ms: 10);
        last_quick = wait(n: <<after_quick>>, ms: 10);
    }

    /// The same, eagerly.
    #[schedule(eager)]
    uneven_eager() {
        slow = wait(n: 1, ms: 100);
        quick = wait(n: 2, ms: 10);
        after_slow = wait(n: <<slow>>, ms: 10);
        after_quick = wait(n: <<quick>>, ms: 10);
        last_quick = wait(n: <<after_quick>>, ms: 10);
    }

    /// A failure in the quick chain while the slow branch runs.
    #[schedule(eager)]
    failing_eager() {
        slow = wait(n: 1, ms: 100);
        quick = wait(n: -2, ms: 10);
        after_quick = wait(n: <<quick>>, ms: 10);
        after_slow = wait(n: <<slow>>, ms: 10);
    }
}

fn started_ms(record: &workflow::RunRecord, id: &str, zero: Instant) -> u128 {
    record.step(id).unwrap().started.unwrap().duration_since(zero).as_millis()
}

#[tokio::test(start_paused = true)]
async fn an_eager_run_starts_each_step_when_its_own_needs_are_done() {
    let zero = Instant::now();
    let levels = uneven_levels().run(&()).await.unwrap();
    assert_eq!(started_ms(&levels.record, "after_quick", zero), 100, "waits for the whole level");
    assert_eq!(levels.record.duration(), Duration::from_millis(120));

    let zero = Instant::now();
    let eager = uneven_eager().run(&()).await.unwrap();
    assert_eq!(started_ms(&eager.record, "after_quick", zero), 10);
    assert_eq!(started_ms(&eager.record, "last_quick", zero), 20);
    assert_eq!(started_ms(&eager.record, "after_slow", zero), 100);
    assert_eq!(eager.record.duration(), Duration::from_millis(110), "the critical path");
    assert_eq!((eager.after_slow, eager.last_quick), (levels.after_slow, levels.last_quick));
    assert!(eager.record.steps.iter().all(|s| s.status == StepStatus::Succeeded));
}

#[tokio::test(start_paused = true)]
async fn an_eager_failure_cancels_what_runs_and_skips_what_has_not_started() {
    let err = failing_eager().run(&()).await.unwrap_err();
    assert_eq!(err.step, "quick");
    let status = |id: &str| err.record.step(id).unwrap().status;
    assert_eq!(status("slow"), StepStatus::Cancelled);
    assert_eq!(status("after_quick"), StepStatus::Skipped);
    assert_eq!(status("after_slow"), StepStatus::Skipped);
    assert_eq!(err.record.duration(), Duration::from_millis(10), "the slow branch is not awaited");
}

/// Compute for `ms` without yielding.
#[tool]
async fn busy(ms: u64) -> Result<u64, ToolError> {
    std::thread::sleep(Duration::from_millis(ms));
    Ok(ms)
}

workflow! {
    /// Two steps that never yield, in one level.
    busy_pair() {
        first = busy(ms: 50);
        second = busy(ms: 30);
    }
}

#[tokio::test]
async fn a_tool_that_never_yields_is_recorded_taking_the_time_it_took() {
    let run = busy_pair().run(&()).await.unwrap();
    let (first, second) = (run.record.step("first").unwrap(), run.record.step("second").unwrap());
    assert!(first.duration().unwrap() >= Duration::from_millis(50), "{:?}", first.duration());
    assert!(second.duration().unwrap() >= Duration::from_millis(30), "{:?}", second.duration());
    assert!(second.duration().unwrap() < Duration::from_millis(45), "{:?}", second.duration());
    assert!(
        second.started.unwrap() >= first.finished.unwrap(),
        "the second starts when the first, polled before it, ended"
    );
    let mut tools = ToolRegistry::new(());
    tools.register::<busy>().unwrap();
    let run = workflow::WorkflowExecutor::new()
        .execute(&busy_pair::template(), &tools, serde_json::json!({}))
        .await
        .unwrap();
    let first = run.record.step("first").unwrap();
    assert!(first.duration().unwrap() >= Duration::from_millis(50), "{:?}", first.duration());
}

workflow! {
    /// Every step bounded.
    bounded() {
        a = wait(n: 1, ms: 1) timeout 1s retry 2 backoff 1s;
        b = wait(n: 2, ms: 1) deadline 5s;
        c = wait(n: <<a>>, ms: 1) timeout 2s on_error fallback wait(n: 0, ms: 0);
    }

    /// One step without a limit.
    unbounded() {
        a = wait(n: 1, ms: 1) timeout 1s;
        b = wait(n: <<a>>, ms: 1);
    }
}

#[test]
fn the_worst_case_is_known_at_compile_time() {
    // `a`: three attempts of 1 s with waits of 1 s and 2 s (6 s), beside `b` (5 s); then `c`,
    // 2 s and its fallback's 2 s.
    assert_eq!(bounded::WORST_CASE, Some(Duration::from_secs(10)));
    assert_eq!(unbounded::WORST_CASE, None);
    assert_eq!(uneven_eager::WORST_CASE, None);
}
