//! What a run hands out while it goes on and when it ends: observers, partial records of
//! dropped or timed-out runs, serialised records, and runs against a hand-written toolbox.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use workflow::prelude::*;
use workflow::toolbox::BoxFuture;
use workflow::{
    CallError, ExecuteError, RunContext, RunObserver, RunRecord, Schedule, StepRecord, ToolDefinition,
    Toolbox, WorkflowExecutor, WorkflowTemplate,
};

/// Return the number.
#[tool]
async fn num(n: i64) -> Result<i64, ToolError> {
    Ok(n)
}

/// Wait, then return the number.
#[tool]
async fn slow(n: i64, ms: u64) -> Result<i64, ToolError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(n)
}

/// Fail with a retryable error until the third call.
#[tool]
async fn flaky(State(calls): State<std::sync::Arc<std::sync::atomic::AtomicU32>>) -> Result<u32, ToolError> {
    let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if n < 3 { Err(ToolError::retryable(format!("busy (call {n})"))) } else { Ok(n) }
}

workflow! {
    /// A quick first level, then a slow second one.
    quick_then_slow() {
        first = num(n: 1);
        second = slow(n: <<first>>, ms: 10_000);
    }
}

workflow! {
    /// A step that succeeds on its third attempt.
    retried() {
        value = flaky() retry 3 backoff 100ms;
    }
}

/// Keeps everything it is told.
#[derive(Default)]
struct Seen {
    steps: Mutex<Vec<StepRecord>>,
    runs: Mutex<Vec<RunRecord>>,
}

impl RunObserver for Seen {
    fn on_step_finished(&self, step: &StepRecord) {
        self.steps.lock().unwrap().push(step.clone());
    }

    fn on_run_finished(&self, run: &RunRecord) {
        self.runs.lock().unwrap().push(run.clone());
    }
}

impl Seen {
    fn step_ids(&self) -> Vec<String> {
        self.steps.lock().unwrap().iter().map(|s| s.step.to_string()).collect()
    }

    fn only_run(&self) -> RunRecord {
        let runs = self.runs.lock().unwrap();
        assert_eq!(runs.len(), 1, "one record per run");
        runs[0].clone()
    }
}

#[tokio::test(start_paused = true)]
async fn observers_see_every_step_and_the_finished_run() {
    let seen = Seen::default();
    let run = quick_then_slow().run(RunContext::new(&()).observe(&seen)).await.unwrap();
    assert_eq!(run.second, 1);
    assert_eq!(seen.step_ids(), ["first", "second"]);
    let record = seen.only_run();
    assert!(!record.cancelled);
    assert!(record.succeeded());
    assert_eq!(record, run.record);
}

#[tokio::test(start_paused = true)]
async fn a_compiled_run_dropped_after_its_first_level_hands_out_a_partial_record() {
    let seen = Seen::default();
    let run = quick_then_slow().run(RunContext::new(&()).observe(&seen));
    let timed_out = tokio::time::timeout(Duration::from_secs(1), run).await;
    assert!(timed_out.is_err(), "the second step takes 10 s");

    assert_eq!(seen.step_ids(), ["first"]);
    let record = seen.only_run();
    assert!(record.cancelled);
    assert!(!record.succeeded());
    let first = record.step("first").unwrap();
    assert_eq!((first.status, first.attempts.len()), (StepStatus::Succeeded, 1));
    let second = record.step("second").unwrap();
    assert_eq!(second.status, StepStatus::Cancelled, "it was running when the run was dropped");
    assert!(second.started.is_some() && second.finished.is_none());
    assert_eq!(record.duration(), Duration::from_secs(1));
}

fn quick_then_slow_template() -> WorkflowTemplate {
    WorkflowTemplate::from_yaml(
        r#"
name: quick_then_slow
steps:
  - { step_id: first, tool_name: num, parameters: { n: 1 } }
  - { step_id: second, tool_name: slow, parameters: { n: "{{first}}", ms: 10000 } }
"#,
    )
    .unwrap()
}

fn registry() -> ToolRegistry {
    let mut tools = ToolRegistry::new(());
    tools.register::<num>().unwrap().register::<slow>().unwrap();
    tools
}

#[tokio::test(start_paused = true)]
async fn a_run_time_workflow_past_its_deadline_fails_with_the_partial_record() {
    let (tools, seen) = (registry(), Seen::default());
    let context = RunContext::new(&tools).observe(&seen).with_deadline(Duration::from_secs(1));
    let err =
        WorkflowExecutor::new().execute(&quick_then_slow_template(), context, json!({})).await.unwrap_err();

    let ExecuteError::DeadlineExceeded(exceeded) = &err else { panic!("{err:?}") };
    assert_eq!(err.to_string(), "workflow `quick_then_slow` did not finish within its deadline of 1s");
    let steps: Vec<_> = exceeded.record.steps.iter().map(|s| (s.step.as_ref(), s.status)).collect();
    assert_eq!(steps, [("first", StepStatus::Succeeded), ("second", StepStatus::Cancelled)]);
    assert_eq!(seen.step_ids(), ["first", "second"], "observers hear of the cancelled step too");
    assert_eq!(seen.only_run(), exceeded.record);
    assert!(exceeded.record.cancelled);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_run_time_workflow_hands_out_a_partial_record() {
    let (tools, seen) = (registry(), Seen::default());
    let prepared = WorkflowExecutor::new().prepare(&quick_then_slow_template(), &tools).unwrap();
    for schedule in [Schedule::Levels, Schedule::Eager] {
        let context = RunContext::new(&tools).observe(&seen).with_schedule(schedule);
        let run = prepared.run(context, json!({}));
        assert!(tokio::time::timeout(Duration::from_secs(1), run).await.is_err());
        let record = seen.runs.lock().unwrap().pop().unwrap();
        assert!(record.cancelled);
        assert_eq!(record.step("first").unwrap().status, StepStatus::Succeeded, "{schedule:?}");
        assert_eq!(record.step("second").unwrap().status, StepStatus::Pending, "{schedule:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn records_keep_every_attempt_with_wall_clock_times() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let before = SystemTime::now();
    let run = retried().run(&calls).await.unwrap();
    assert_eq!(run.value, 3);
    let step = run.record.step("value").unwrap();
    let errors: Vec<_> = step.attempts.iter().map(|a| a.error.as_deref()).collect();
    assert_eq!(
        errors,
        [Some("tool `flaky` failed: busy (call 1)"), Some("tool `flaky` failed: busy (call 2)"), None]
    );
    assert_eq!(step.error, None);

    // 100 ms before the second attempt, 200 ms before the third; the wall-clock times follow
    // tokio's (paused) clock from the run's start.
    let (started_at, finished_at) = (step.started_at().unwrap(), step.finished_at().unwrap());
    assert!(started_at >= before - Duration::from_secs(1));
    assert_eq!(finished_at.duration_since(started_at).unwrap(), Duration::from_millis(300));
    assert_eq!(
        step.wall(step.attempts.get(2).unwrap().started)
            .unwrap()
            .duration_since(step.wall(step.attempts.get(0).unwrap().finished).unwrap())
            .unwrap(),
        Duration::from_millis(300)
    );
    assert_eq!(run.record.finished_at.duration_since(run.record.started_at).unwrap(), run.record.duration());
}

#[tokio::test(start_paused = true)]
async fn records_serialize_with_unix_milliseconds() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let run = retried().run(&calls).await.unwrap();
    let json = serde_json::to_value(&run.record).unwrap();
    let started = json["started_at_ms"].as_u64().unwrap();
    let unix_ms = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert_eq!(started, unix_ms(run.record.started_at));
    assert_eq!(json["workflow"], "retried");
    assert_eq!(json["cancelled"], false);
    assert_eq!(json["duration_ms"], 300.0);
    let step = &json["steps"][0];
    assert_eq!(
        (&step["step"], &step["tool"], &step["status"]),
        (&json!("value"), &json!("flaky"), &json!("succeeded"))
    );
    assert_eq!(step["duration_ms"], 300.0);
    assert_eq!(step["started_at_ms"].as_u64().unwrap(), started);
    let attempts = step["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["error"], "tool `flaky` failed: busy (call 1)");
    assert_eq!(attempts[0]["duration_ms"], 0.0);
    assert_eq!(attempts[1]["started_at_ms"].as_u64().unwrap(), started + 100);
    assert_eq!(attempts[2]["error"], Value::Null);
    let keys: Vec<&str> = step.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "step",
            "tool",
            "status",
            "attempts",
            "started_at_ms",
            "finished_at_ms",
            "duration_ms",
            "error",
            "fallback",
            "timed_out",
            "replayed"
        ]
    );
    assert_eq!(json["compensations"], json!([]));
}

/// A toolbox written by hand: `double` and `sum`, answered without a registry.
struct Arithmetic {
    double: ToolDefinition,
    sum: ToolDefinition,
    calls: Mutex<Vec<String>>,
}

impl Arithmetic {
    fn new() -> Self {
        let definition = |name: &str, schema: Value| ToolDefinition {
            name: name.to_owned(),
            description: format!("{name} numbers"),
            input_schema: serde_json::from_value(schema).unwrap(),
            output_schema: serde_json::from_value(json!({ "type": "integer" })).unwrap(),
        };
        let number = json!({ "type": "integer" });
        Self {
            double: definition(
                "double",
                json!({ "type": "object", "properties": { "n": number }, "required": ["n"] }),
            ),
            sum: definition(
                "sum",
                json!({ "type": "object", "properties": { "a": number, "b": number }, "required": ["a", "b"] }),
            ),
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl Toolbox for Arithmetic {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, CallError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(name.to_owned());
            let arg = |key: &str| args[key].as_i64().unwrap_or_default();
            match name {
                "double" => Ok(json!(arg("n") * 2)),
                "sum" => Ok(json!(arg("a") + arg("b"))),
                _ => Err(CallError::UnknownTool { name: name.to_owned(), suggestion: None }),
            }
        })
    }

    fn definition(&self, name: &str) -> Option<&ToolDefinition> {
        [&self.double, &self.sum].into_iter().find(|d| d.name == name)
    }

    fn names(&self) -> Vec<&str> {
        vec!["double", "sum"]
    }
}

#[tokio::test]
async fn a_hand_written_toolbox_runs_a_workflow() {
    let workflow = WorkflowTemplate::from_yaml(
        r#"
name: arithmetic
steps:
  - { step_id: a, tool_name: double, parameters: { n: "{{x}}" } }
  - { step_id: b, tool_name: double, parameters: { n: 10 } }
  - { step_id: total, tool_name: sum, parameters: { a: "{{a}}", b: "{{b}}" } }
"#,
    )
    .unwrap();
    let tools = Arithmetic::new();
    let run = WorkflowExecutor::new().execute(&workflow, &tools, json!({ "x": 4 })).await.unwrap();
    assert_eq!(run.context.get_result("total"), Some(&json!(28)));
    assert_eq!(tools.calls.lock().unwrap().len(), 3);

    // As a trait object too, and validated against the toolbox's definitions.
    let dynamic: &dyn Toolbox = &tools;
    let run = WorkflowExecutor::new().execute(&workflow, dynamic, json!({ "x": 1 })).await.unwrap();
    assert_eq!(run.context.get_result("total"), Some(&json!(22)));
    let typo = WorkflowTemplate::from_json(
        r#"{ "name": "w", "steps": [{ "step_id": "a", "tool_name": "dubble", "parameters": { "n": 1 } }] }"#,
    )
    .unwrap();
    let err = WorkflowExecutor::new().execute(&typo, dynamic, json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 problem in the workflow\n- step `a`, parameter `tool_name`: unknown tool `dubble`; did you mean `double`?"
    );
}
