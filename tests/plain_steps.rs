//! Plain steps (no retries, no time limits, no fallback, no condition) take the driver's short
//! way unless the run needs the full path (a journal, a limit on calls in flight); a subscriber
//! that takes the step spans gets them either way. Every way must record the same thing: these
//! tests run the same workflows each way and compare.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use workflow::prelude::*;
use workflow::{RunContext, RunRecord, StepError, StepStatus};

/// Adds two numbers.
#[tool]
async fn add(x: i64, y: i64) -> Result<i64, ToolError> {
    Ok(x + y)
}

/// A list of `len` numbers.
#[tool]
async fn list(len: usize) -> Result<Vec<i64>, ToolError> {
    Ok((0..len as i64).collect())
}

/// Always fails.
#[tool]
async fn refuse(reason: String) -> Result<i64, ToolError> {
    Err(ToolError::permanent(reason))
}

/// Computes for `ms` milliseconds without yielding.
#[tool]
async fn busy(ms: u64) -> Result<u64, ToolError> {
    std::thread::sleep(Duration::from_millis(ms));
    Ok(ms)
}

/// Waits `ms` milliseconds on tokio's clock.
#[tool]
async fn wait(ms: u64) -> Result<u64, ToolError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

workflow! {
    /// Three plain steps in two levels.
    sums(n: i64) {
        a = add(x: <<n>>, y: 1);
        c = add(x: <<n>>, y: 3);
        b = add(x: <<a>>, y: <<c>>);
    }

    /// A reference that cannot be resolved when the step runs.
    out_of_range() {
        items = list(len: 2);
        third = add(x: <<items[5]>>, y: 0);
    }

    /// Arguments whose making panics.
    panicking_arguments() {
        first = add(x: 1, y: 1);
        boom = add(x: ::std::convert::identity::<i64>(::std::panic!("no arguments today")), y: <<first>>);
    }

    /// A tool that fails.
    refused() {
        no = refuse(reason: "not today");
    }

    /// Two steps that never yield, in one level.
    busy_pair() {
        first = busy(ms: 40);
        second = busy(ms: 20);
    }

    /// Steps that wait on tokio's clock.
    waits() {
        short = wait(ms: 10);
        long = wait(ms: 25);
        after = wait(ms: <<short>>);
    }
}

/// The `step` field of every `workflow.step` span created.
#[derive(Clone, Default)]
struct StepSpans(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StepSpans {
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::span::Id, _: Context<'_, S>) {
        struct Step(Option<String>);
        impl tracing::field::Visit for Step {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
                if field.name() == "step" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        if attrs.metadata().name() == "workflow.step" {
            let mut step = Step(None);
            attrs.record(&mut step);
            self.0.lock().unwrap().push(step.0.unwrap_or_default());
        }
    }
}

/// What a record says of each step, without its times: id, status, attempts, error.
fn shape(record: &RunRecord) -> Vec<(String, StepStatus, usize, Option<String>)> {
    record.steps.iter().map(|s| (s.step.to_string(), s.status, s.attempts.len(), s.error.clone())).collect()
}

/// Runs `run` three ways: the short way (no subscriber), the short way with a subscriber taking
/// the step spans, and the full path (a run with a limit on calls in flight, here with the same
/// subscriber); returns the three results and the step spans each of the last two opened.
async fn three_ways<T, F, Fut>(run: F) -> ([T; 3], [Vec<String>; 2])
where
    F: Fn(RunContext<'static, ()>) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let short = run(RunContext::new(&())).await;
    let (spanned, spans) = with_step_spans(run(RunContext::new(&()))).await;
    let (full, full_spans) = with_step_spans(run(RunContext::new(&()).with_max_concurrency(64))).await;
    ([short, spanned, full], [spans, full_spans])
}

/// `run`'s result, run with a subscriber, and the step spans it opened, sorted.
async fn with_step_spans<T>(run: impl std::future::Future<Output = T>) -> (T, Vec<String>) {
    let layer = StepSpans::default();
    let result = {
        let _subscriber = tracing_subscriber::registry().with(layer.clone()).set_default();
        run.await
    };
    let mut spans = layer.0.lock().unwrap().clone();
    spans.sort();
    (result, spans)
}

#[tokio::test]
async fn plain_steps_record_the_same_every_way() {
    let (runs, spans) = three_ways(|context| sums(1).run(context)).await;
    let [short, spanned, full] = runs.map(Result::unwrap);
    for run in [&short, &spanned, &full] {
        assert_eq!((run.a, run.c, run.b), (2, 4, 6));
        assert_eq!(shape(&run.record), shape(&short.record));
    }
    assert_eq!(spans, [["a", "b", "c"], ["a", "b", "c"]], "with a subscriber, each step has its span");
    for step in &short.record.steps {
        assert_eq!(step.status, StepStatus::Succeeded);
        let attempt = step.attempts.get(0).unwrap();
        assert_eq!((Some(attempt.started), Some(attempt.finished)), (step.started, step.finished));
        assert!(step.wall(attempt.started).is_some(), "the run gave the record its wall clock");
    }
}

#[tokio::test]
async fn a_reference_that_cannot_be_resolved_fails_the_step_every_way() {
    let (runs, _) = three_ways(|context| out_of_range().run(context)).await;
    let [short, spanned, full] = runs.map(Result::unwrap_err);
    for err in [&short, &spanned, &full] {
        assert_eq!(err.step, "third");
        assert!(
            matches!(&err.error, StepError::Reference { path, .. } if path == "items[5]"),
            "{:?}",
            err.error
        );
        let third = err.record.step("third").unwrap();
        assert_eq!((third.status, third.attempts.len()), (StepStatus::Failed, 1));
        assert!(third.started.is_some() && third.finished.is_some());
    }
    assert_eq!(shape(&short.record), shape(&spanned.record));
    assert_eq!(shape(&short.record), shape(&full.record));
}

#[tokio::test]
async fn a_panic_while_making_the_arguments_fails_the_step_every_way() {
    let (runs, _) = three_ways(|context| panicking_arguments().run(context)).await;
    let [short, spanned, full] = runs.map(Result::unwrap_err);
    for err in [&short, &spanned, &full] {
        assert_eq!(err.step, "boom");
        assert!(
            matches!(&err.error, StepError::Panicked { message, .. } if message == "no arguments today"),
            "{:?}",
            err.error
        );
        assert_eq!(err.record.step("first").unwrap().status, StepStatus::Succeeded);
    }
    assert_eq!(shape(&short.record), shape(&spanned.record));
    assert_eq!(shape(&short.record), shape(&full.record));
}

#[tokio::test]
async fn a_tool_error_fails_the_step_every_way() {
    let (runs, _) = three_ways(|context| refused().run(context)).await;
    let [short, spanned, full] = runs.map(Result::unwrap_err);
    for err in [&short, &spanned, &full] {
        assert_eq!(
            err.to_string(),
            "workflow `refused` failed at step `no`: tool `refuse` failed: not today"
        );
        assert!(!err.error.is_retryable());
    }
    assert_eq!(shape(&short.record), shape(&spanned.record));
    assert_eq!(shape(&short.record), shape(&full.record));
}

/// Runs workflows until the processor's counter is calibrated (the first run starts it).
async fn with_the_counter() {
    for _ in 0..500 {
        if workflow::__private::exec::counter_ready() {
            return;
        }
        sums(0).run(&()).await.unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the counter was not calibrated within 5 s");
}

#[tokio::test]
async fn durations_read_from_the_counter_are_the_time_a_step_took() {
    with_the_counter().await;
    let run = busy_pair().run(&()).await.unwrap();
    let (first, second) = (run.record.step("first").unwrap(), run.record.step("second").unwrap());
    let (took_first, took_second) = (first.duration().unwrap(), second.duration().unwrap());
    assert!(took_first >= Duration::from_millis(40), "{took_first:?}");
    assert!(took_second >= Duration::from_millis(20), "{took_second:?}");
    assert!(
        took_second < Duration::from_millis(35),
        "the second step does not count the first: {took_second:?}"
    );
    assert!(second.started.unwrap() >= first.finished.unwrap(), "the second starts where the first ended");
    let whole = run.record.duration();
    assert!(whole >= took_first + took_second, "{whole:?}");
}

#[tokio::test(start_paused = true)]
async fn paused_time_stays_exact_once_the_counter_is_calibrated() {
    with_the_counter().await;
    let run = waits().run(&()).await.unwrap();
    let step = |id: &str| run.record.step(id).unwrap().clone();
    assert_eq!(step("short").duration(), Some(Duration::from_millis(10)));
    assert_eq!(step("long").duration(), Some(Duration::from_millis(25)));
    assert_eq!(step("after").duration(), Some(Duration::from_millis(10)));
    assert_eq!(step("after").started, step("long").finished, "the second level starts when the first ends");
    assert_eq!(run.record.duration(), Duration::from_millis(35));
}
