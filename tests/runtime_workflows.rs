//! Workflows defined at run time (JSON, YAML): validated like compiled ones, run by name.

use std::time::Duration;

use serde_json::{Value, json};
use workflow::prelude::*;
use workflow::{ExecuteError, WorkflowExecutor, WorkflowTemplate};

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issue {
    pub number: u64,
    pub title: String,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct IssueList {
    pub issues: Vec<Issue>,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
    pub success: bool,
}

/// List the open issues of a repository.
#[tool]
async fn github_list_issues(repo: String) -> Result<IssueList, ToolError> {
    Ok(IssueList { issues: vec![Issue { number: 42, title: format!("Crash in {repo}") }] })
}

/// Open a pull request.
#[tool]
async fn github_create_pr(repo: String, title: String, body: String) -> Result<PullRequest, ToolError> {
    let _ = (title, body);
    Ok(PullRequest { url: format!("https://github.com/{repo}/pulls/1"), number: 1, success: true })
}

/// Send a message to a Slack channel.
#[tool]
async fn slack_send_message(channel: String, message: String) -> Result<String, ToolError> {
    Ok(format!("{channel}: {message}"))
}

/// Wait, then return the value.
#[tool]
async fn delay(value: i64, ms: u64) -> Result<i64, ToolError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

fn registry() -> ToolRegistry {
    let mut tools = ToolRegistry::new(());
    tools
        .register::<github_list_issues>()
        .unwrap()
        .register::<github_create_pr>()
        .unwrap()
        .register::<slack_send_message>()
        .unwrap()
        .register::<delay>()
        .unwrap();
    tools
}

/// The seed's `github_pr_workflow`, as the seed writes it.
const SEED_GITHUB_PR: &str = r##"{
    "name": "github_pr_workflow",
    "description": "Create PR and notify team",
    "steps": [
        { "step_id": "list_issues", "tool_name": "github_list_issues",
          "parameters": { "repo": "{{repo}}" } },
        { "step_id": "create_pr", "tool_name": "github_create_pr", "depends_on": ["list_issues"],
          "parameters": { "repo": "{{repo}}", "title": "{{pr_title}}",
                          "body": "Fixes {{list_issues.issues[0].number}}" } },
        { "step_id": "notify_slack", "tool_name": "slack_send_message", "depends_on": ["create_pr"],
          "condition": "{{create_pr.success}} == true",
          "parameters": { "channel": "#dev", "message": "PR created: {{create_pr.url}}" } }
    ],
    "metadata": { "category": "github", "usage_count": 15, "success_rate": 0.93 }
}"##;

#[tokio::test]
async fn the_seeds_github_workflow_runs_from_json() {
    let workflow = WorkflowTemplate::from_json(SEED_GITHUB_PR).unwrap();
    assert_eq!(workflow.levels().unwrap(), [["list_issues"], ["create_pr"], ["notify_slack"]]);
    let inputs = json!({ "repo": "repo", "pr_title": "Fix the crash" });
    let run = WorkflowExecutor::new().execute(&workflow, &registry(), inputs).await.unwrap();
    assert_eq!(
        run.context.get_result("notify_slack"),
        Some(&json!("#dev: PR created: https://github.com/repo/pulls/1"))
    );
    assert_eq!(run.record.steps.len(), 3);
    assert!(run.record.succeeded());
}

#[tokio::test(start_paused = true)]
async fn the_seeds_diamond_runs_from_yaml_with_b_and_c_together() {
    let workflow = WorkflowTemplate::from_yaml(
        r#"
name: diamond
steps:
  - { step_id: A, tool_name: delay, parameters: { value: 1, ms: 5 } }
  - { step_id: B, tool_name: delay, parameters: { value: "{{A}}", ms: 10 } }
  - { step_id: C, tool_name: delay, parameters: { value: "{{A}}", ms: 20 } }
  - step_id: D
    tool_name: delay
    depends_on: [B, C]
    parameters: { value: 4, ms: 1 }
  - { step_id: E, tool_name: delay, parameters: { value: "{{D}}", ms: 1 } }
"#,
    )
    .unwrap();
    assert_eq!(workflow.levels().unwrap(), vec![vec!["A"], vec!["B", "C"], vec!["D"], vec!["E"]]);
    let run = WorkflowExecutor::new().execute(&workflow, &registry(), json!({})).await.unwrap();
    let step = |id| run.record.step(id).unwrap().clone();
    assert_eq!(step("B").started, step("C").started);
    assert_eq!(step("D").started, step("C").finished);
    assert!(step("E").started >= step("D").finished);
    assert_eq!(run.context.get_result("E"), Some(&json!(4)));
}

#[tokio::test]
async fn a_false_condition_skips_the_step() {
    let mut workflow = WorkflowTemplate::from_json(SEED_GITHUB_PR).unwrap();
    workflow.steps[2].condition =
        Some("{{create_pr.number}} > 5 || {{list_issues.issues|length}} == 0".into());
    let run = WorkflowExecutor::new()
        .execute(&workflow, &registry(), json!({ "repo": "r", "pr_title": "t" }))
        .await
        .unwrap();
    assert_eq!(run.record.step("notify_slack").unwrap().status, StepStatus::Skipped);
    assert_eq!(run.context.get_result("notify_slack"), None);
}

#[tokio::test]
async fn an_invalid_workflow_is_rejected_with_every_problem_listed() {
    let workflow = WorkflowTemplate::from_json(
        r##"{
        "name": "broken",
        "inputs": [{ "name": "repo", "type": "String" }],
        "steps": [
            { "step_id": "list", "tool_name": "github_list_issue", "parameters": { "repo": "{{repo}}" } },
            { "step_id": "pr", "tool_name": "github_create_pr",
              "parameters": { "repo": "{{rpo}}", "title": 7, "body": "Fixes {{lst.issues[0].number}}", "draft": true } },
            { "step_id": "notify", "tool_name": "slack_send_message", "depends_on": ["pr", "later"],
              "parameters": { "channel": "{{pr.ur}}", "message": "{{ pr. }}" } },
            { "step_id": "later", "tool_name": "slack_send_message",
              "parameters": { "channel": "#dev", "message": "{{notify}}" } }
        ]
    }"##,
    )
    .unwrap();
    let err =
        WorkflowExecutor::new().execute(&workflow, &registry(), json!({ "repo": "r" })).await.unwrap_err();
    let ExecuteError::Invalid(problems) = err else { panic!("expected problems, got {err}") };
    assert_eq!(
        problems.to_string(),
        "8 problems in the workflow
- step `notify`, parameter `message`, line 1, column 7: expected a name such as `step.field`, found `}}`
- step `pr`, parameter `repo`, line 1, column 3: unknown step or input `rpo`; did you mean `repo`?
- step `pr`, parameter `body`, line 1, column 9: unknown step or input `lst`; did you mean `list`?
- step `notify`, parameter `depends_on`: dependency cycle: `notify` -> `later` -> `notify` (each step uses the next); remove one of these references
- step `list`, parameter `tool_name`: unknown tool `github_list_issue`; did you mean `github_list_issues`?
- step `pr`, parameter `title`: expected a string, found a number
- step `pr`, parameter `draft`: tool `github_create_pr` has no parameter `draft`; it takes `repo`, `title`, `body`
- step `notify`, parameter `channel`, line 1, column 3: `pr` has no field `ur`; did you mean `url`?"
    );
    let drawn = problems.render();
    assert!(
        drawn.contains(" 1 │ Fixes {{lst.issues[0].number}}\n   ·         ──────────┬─────────\n"),
        "the offending text is underlined:\n{drawn}"
    );
}

#[tokio::test]
async fn a_failing_step_reports_step_and_parameter() {
    let workflow = WorkflowTemplate::from_json(
        r#"{ "name": "w", "steps": [
            { "step_id": "list", "tool_name": "github_list_issues", "parameters": { "repo": "r" } },
            { "step_id": "pr", "tool_name": "github_create_pr",
              "parameters": { "repo": "r", "title": "t", "body": "{{list.issues[3].number}}" } } ] }"#,
    )
    .unwrap();
    let err = WorkflowExecutor::new().execute(&workflow, &registry(), json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "workflow `w` failed at step `pr`: parameter `body`: index 3 is out of range: `list.issues` has 1 items"
    );
}

#[test]
fn workflow_text_is_checked_with_positions_in_the_file() {
    let source = r##"/// A broken copy of the seed's workflow.
github_pr(repo: String, pr_title: String) {
    list_issues = github_list_issues(repo: <<repo>>);
    create_pr = github_create_pr(repo: <<repo>>, title: <<pr_titel>>,
                                 body: "Fixes #<<list_issues.issues[0].numbr>>");
    notify = slack_send_mesage(channel: "#dev", message: "<<create_pr.url>>") depends create_pr;
}
"##;
    let problems = workflow::validate::validate_source(source, Some(&registry())).unwrap_err();
    assert_eq!(
        problems.to_string(),
        "3 problems in the workflow
- step `create_pr`, parameter `title`, line 4, column 59: unknown step or input `pr_titel`; did you mean `pr_title`?
- step `notify`, parameter `tool_name`, line 6, column 14: unknown tool `slack_send_mesage`; did you mean `slack_send_message`?
- step `create_pr`, parameter `body`, line 5, column 50: `list_issues.issues[0]` has no field `numbr`; did you mean `number`?"
    );
    let drawn = problems.render();
    let lines: Vec<&str> = drawn.lines().collect();
    let at = (1..lines.len()).find(|&i| lines[i - 1].contains("numbr>>") && lines[i].contains('┬')).unwrap();
    let (source_line, underline) = (lines[at - 1], lines[at]);
    let column = |line: &str, c: char| line.chars().position(|x| x == c);
    let path_start = source_line.chars().collect::<String>().find("list_issues.issues").unwrap();
    assert_eq!(column(underline, '─'), Some(source_line[..path_start].chars().count()), "{drawn}");
    assert_eq!(
        underline.chars().filter(|&c| c == '─' || c == '┬').count(),
        "list_issues.issues[0].numbr".len()
    );
    let fixed =
        source.replace("pr_titel", "pr_title").replace("numbr", "number").replace("mesage", "message");
    let templates = workflow::validate::validate_source(&fixed, Some(&registry())).unwrap();
    assert_eq!(templates[0].steps.len(), 3);
}

#[test]
fn a_cycle_through_ten_thousand_steps_is_reported_without_exhausting_the_stack() {
    let n = 10_000;
    let steps: Vec<Value> = (0..n)
        .map(|i| json!({ "step_id": format!("s{i}"), "tool_name": "delay", "depends_on": [format!("s{}", (i + 1) % n)] }))
        .collect();
    let workflow: WorkflowTemplate =
        serde_json::from_value(json!({ "name": "ring", "steps": steps })).unwrap();
    let problems = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || workflow.levels().unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(problems.0.len(), 1);
    assert!(problems.0[0].message.starts_with("dependency cycle: `s0` -> `s1` -> `s2` -> "));
    assert!(
        problems.0[0]
            .message
            .ends_with("-> `s9999` -> `s0` (each step uses the next); remove one of these references")
    );
}

fn uneven() -> WorkflowTemplate {
    WorkflowTemplate::from_yaml(
        r#"
name: uneven
steps:
  - { step_id: a, tool_name: delay, parameters: { value: 1, ms: 1 } }
  - { step_id: fast, tool_name: delay, parameters: { value: "{{a}}", ms: 10 } }
  - { step_id: slow, tool_name: delay, parameters: { value: "{{a}}", ms: 50 } }
  - { step_id: after_fast, tool_name: delay, parameters: { value: "{{fast}}", ms: 5 } }
  - { step_id: after_slow, tool_name: delay, parameters: { value: "{{slow}}", ms: 5 } }
"#,
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_eager_schedule_starts_each_step_when_its_own_needs_are_done() {
    use workflow::Schedule;
    let workflow = uneven();
    let levels = WorkflowExecutor::new().execute(&workflow, &registry(), json!({})).await.unwrap();
    let eager = WorkflowExecutor::new()
        .with_schedule(Schedule::Eager)
        .execute(&workflow, &registry(), json!({}))
        .await
        .unwrap();
    let started = |run: &workflow::TemplateRun, id| run.record.step(id).unwrap().started.unwrap();
    let finished = |run: &workflow::TemplateRun, id| run.record.step(id).unwrap().finished.unwrap();
    // Level by level, `after_fast` waits for the whole level, `slow` included.
    assert_eq!(started(&levels, "after_fast"), finished(&levels, "slow"));
    // Eagerly, it starts as soon as `fast` is done.
    assert_eq!(started(&eager, "after_fast"), finished(&eager, "fast"));
    assert!(eager.record.duration() <= levels.record.duration());
    assert_eq!(eager.context.step_results, levels.context.step_results);
}

#[tokio::test(start_paused = true)]
async fn a_concurrency_limit_bounds_the_calls_in_flight() {
    use workflow::Schedule;
    let steps: Vec<Value> = (0..6)
        .map(|i| json!({ "step_id": format!("s{i}"), "tool_name": "delay", "parameters": { "value": i, "ms": 10 } }))
        .collect();
    let workflow: WorkflowTemplate =
        serde_json::from_value(json!({ "name": "fan", "steps": steps })).unwrap();
    for schedule in [Schedule::Levels, Schedule::Eager] {
        let run = WorkflowExecutor::new()
            .with_schedule(schedule)
            .with_max_concurrency(2)
            .execute(&workflow, &registry(), json!({}))
            .await
            .unwrap();
        let start = run.record.started;
        let mut offsets: Vec<u128> =
            run.record.steps.iter().map(|s| (s.started.unwrap() - start).as_millis()).collect();
        offsets.sort_unstable();
        assert_eq!(offsets, [0, 0, 10, 10, 20, 20], "{schedule:?}");
    }
}

// ---------------------------------------------------------------- names and inputs

/// Count the calls made, through the registry's state.
#[tool]
async fn counted(
    State(calls): State<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    text: String,
) -> Result<String, ToolError> {
    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(text)
}

/// A registry whose `counted` tool counts its calls, and the counter.
fn counting() -> (
    ToolRegistry<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tools = ToolRegistry::new(calls.clone());
    tools.register::<counted>().unwrap().register::<github_list_issues>().unwrap();
    (tools, calls)
}

fn problems_of(err: ExecuteError) -> String {
    match err {
        ExecuteError::Invalid(problems) => problems.to_string(),
        other => panic!("expected problems, got {other}"),
    }
}

#[tokio::test]
async fn an_input_named_like_a_step_cannot_change_what_the_next_step_receives() {
    let (tools, calls) = counting();
    let undeclared = WorkflowTemplate::from_yaml(
        r##"
name: forge
steps:
  - { step_id: list, tool_name: github_list_issues, parameters: { repo: "{{repo}}" } }
  - { step_id: echo, tool_name: counted, parameters: { text: "#{{list.issues[0].number}}" } }
"##,
    )
    .unwrap();
    let forged = json!({ "repo": "r", "list": { "issues": [{ "number": 999, "title": "forged" }] } });
    let err = WorkflowExecutor::new().execute(&undeclared, &tools, forged.clone()).await.unwrap_err();
    assert_eq!(
        problems_of(err),
        "1 problem in the workflow\n- parameter `inputs`: input `list` has the name of a step; an input cannot stand in for a step's output"
    );
    let mut declared = undeclared.clone();
    declared.inputs = vec![workflow::WorkflowInput { name: "repo".into(), ty: Some("String".into()) }];
    let err = WorkflowExecutor::new().execute(&declared, &tools, forged).await.unwrap_err();
    assert!(problems_of(err).contains("input `list` has the name of a step"));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0, "no tool ran");
    let run = WorkflowExecutor::new().execute(&declared, &tools, json!({ "repo": "r" })).await.unwrap();
    assert_eq!(
        run.context.get_result("echo"),
        Some(&json!("#42")),
        "the step's own output reaches the next step"
    );
}

#[tokio::test]
async fn a_missing_or_mistyped_declared_input_fails_before_any_tool_is_called() {
    let (tools, calls) = counting();
    let workflow = WorkflowTemplate::from_dsl(
        "w(text: String, times: u32, note: Option<String>) {\n  first = counted(text: <<text>>);\n  second = counted(text: \"<<times>> <<first>>\");\n}",
    )
    .unwrap()
    .remove(0);
    let cases = [
        (json!({ "times": 2 }), "missing input `text` (a string)"),
        (json!({ "text": "a", "times": "two" }), "input `times` must be an integer from 0, found a string"),
        (json!({ "text": "a", "times": -1 }), "input `times` must be an integer from 0, found a number"),
        (json!({ "text": "a", "times": 1, "tims": 2 }), "unknown input `tims`; did you mean `times`?"),
        (json!(["a", 1]), "the inputs must be a JSON object of named values, found a list"),
    ];
    for (inputs, expected) in cases {
        let err = WorkflowExecutor::new().execute(&workflow, &tools, inputs.clone()).await.unwrap_err();
        let text = problems_of(err);
        assert!(text.contains(expected), "{inputs}: {text}");
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0, "no tool ran");
    let run =
        WorkflowExecutor::new().execute(&workflow, &tools, json!({ "text": "a", "times": 2 })).await.unwrap();
    assert_eq!(run.context.get_result("second"), Some(&json!("2 a")));
}

#[tokio::test]
async fn a_misspelt_step_fails_validation_with_a_suggestion_even_without_declared_inputs() {
    let (tools, calls) = counting();
    let workflow = WorkflowTemplate::from_yaml(
        r#"
name: typo
steps:
  - { step_id: list_issues, tool_name: github_list_issues, parameters: { repo: "{{repo}}" } }
  - { step_id: echo, tool_name: counted, parameters: { text: "{{list_isues.issues[0].title}}" } }
"#,
    )
    .unwrap();
    let err = WorkflowExecutor::new().prepare(&workflow, &tools).unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 problem in the workflow\n- step `echo`, parameter `text`, line 1, column 3: unknown step `list_isues`; did you mean `list_issues`? (if it is an input, declare the workflow's inputs)"
    );
    // An input the workflow reads and the run does not give is found before any call too.
    let mut fixed = workflow.clone();
    fixed.steps[1].parameters.insert("text".into(), json!("{{list_issues.issues[0].title}} {{suffix}}"));
    let err = WorkflowExecutor::new()
        .execute(&fixed, &tools, json!({ "repo": "r", "sufix": "!" }))
        .await
        .unwrap_err();
    assert!(problems_of(err).contains("unknown step or input `suffix`; did you mean `sufix`?"));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_condition_that_is_not_a_boolean_is_an_error_never_truthiness() {
    let (tools, calls) = counting();
    let with = |condition: &str| {
        let mut w = WorkflowTemplate::from_yaml(
            r#"
name: cond
steps:
  - { step_id: list, tool_name: github_list_issues, parameters: { repo: "{{repo}}" } }
  - { step_id: echo, tool_name: counted, parameters: { text: "x" } }
"#,
        )
        .unwrap();
        w.steps[1].condition = Some(condition.to_owned());
        w
    };
    // Known not to be a boolean before the run: a string literal, a filter giving text, a field
    // whose output schema says string.
    for (condition, expected) in [
        ("'yes'", "a condition must be a boolean, found a string"),
        ("{{list.issues|length}}", "a condition must be a boolean, found a number (`length`)"),
        ("{{list.issues[0].title}}", "a condition must be a boolean, but `list.issues[0].title` is a string"),
    ] {
        let err = WorkflowExecutor::new().prepare(&with(condition), &tools).unwrap_err();
        assert!(err.to_string().contains(expected), "{condition}: {err}");
    }
    // Known only when it runs: an input.
    let err =
        WorkflowExecutor::new().execute(&with("{{repo}}"), &tools, json!({ "repo": "r" })).await.unwrap_err();
    assert!(
        err.to_string().contains("parameter `condition`: a condition must be a boolean, found a string"),
        "{err}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn a_deadline_shorter_than_the_timeout_is_found_before_the_run() {
    let template = WorkflowTemplate::from_yaml(
        "name: w\nsteps:\n  - { step_id: a, tool_name: delay, parameters: { value: 1, ms: 1 }, retry_count: 2, timeout_seconds: 5, deadline_seconds: 2 }\n",
    )
    .unwrap();
    let problems = workflow::validate::validate(&template, &registry()).unwrap_err();
    assert_eq!(
        problems.to_string(),
        "1 problem in the workflow\n- step `a`, parameter `deadline_seconds`: the deadline of 2s is shorter than the timeout of 5s it bounds; a deadline limits all the attempts of the step together, so make it at least the timeout"
    );
}

#[test]
fn trigger_rules_fallbacks_and_compensations_are_checked_before_the_run() {
    let template = WorkflowTemplate::from_yaml(
        r#"
name: w
steps:
  - { step_id: pr, tool_name: github_create_pr, parameters: { repo: r, title: t, body: b },
      compensate: { tool_name: slack_send_message, parameters: { channel: c, message: "{{later}}" } } }
  - { step_id: alert, tool_name: slack_send_message, parameters: { channel: c, message: "{{pr.url}}" },
      after: { step: pr, when: failed } }
  - { step_id: late, tool_name: delay, parameters: { value: 1, ms: 1 }, after: { step: pz, when: always } }
  - { step_id: later, tool_name: delay, parameters: { value: 1, ms: 1 }, on_error: fallback }
  - { step_id: other, tool_name: delay, parameters: { value: 1, ms: 1 },
      fallback: { tool_name: dealy, parameters: { value: 2 } } }
"#,
    )
    .unwrap();
    let problems = workflow::validate::validate(&template, &registry()).unwrap_err();
    assert_eq!(
        problems.to_string(),
        "6 problems in the workflow
- step `alert`, parameter `message`, line 1, column 3: step `alert` cannot read `pr.url`: it runs only after `pr` failed, when `pr` has no output; read another step, or wait for it with `depends pr`
- step `late`, parameter `after`: `after` names unknown step `pz`; did you mean `pr`?
- step `later`, parameter `on_error`: step `later` has `on_error fallback` but no fallback call; give the call to make instead
- step `other`, parameter `fallback.tool_name`: step `other` has a fallback call but no `on_error fallback`; set `on_error` to `fallback`
- step `pr`, parameter `compensate.message`, line 1, column 3: the compensation of `pr` cannot read `later`, which may not have run; it can read `pr`'s own output, the inputs, and the steps `pr` reads
- step `other`, parameter `fallback.tool_name`: unknown tool `dealy`"
    );
}

#[test]
fn the_new_clauses_read_from_text_and_print_back() {
    let text = r##"w(repo: String) {
    pr = github_create_pr(repo: <<repo>>, title: "t", body: "b") retry 3 backoff 1s on timeout, rate_limited compensate slack_send_message(channel: "#dev", message: "undo <<pr.url>>");
    ship = slack_send_message(channel: "#a", message: <<pr.url>>) on_error fallback slack_send_message(channel: "#b", message: <<pr.url>>);
    alert = slack_send_message(channel: "#ops", message: "failed") after pr failed;
}
"##;
    let [template] = &WorkflowTemplate::from_dsl(text).unwrap()[..] else { panic!("one workflow") };
    assert_eq!(template.steps[0].retry_on, ["timeout", "rate_limited"]);
    assert_eq!(template.steps[0].compensate.as_ref().unwrap().parameters["message"], "undo {{pr.url}}");
    assert_eq!(template.steps[1].on_error, workflow::OnError::Fallback);
    assert_eq!(template.steps[1].fallback.as_ref().unwrap().parameters["channel"], "#b");
    assert_eq!(
        template.steps[2].after,
        Some(workflow::AfterStep { step: "pr".into(), when: workflow::Trigger::Failed })
    );
    assert_eq!(template.levels().unwrap(), vec![vec!["pr"], vec!["ship", "alert"]]);
    workflow::validate::validate(template, &registry()).unwrap();
    // The serde form reads back as it was written.
    let json = serde_json::to_string(template).unwrap();
    assert_eq!(&WorkflowTemplate::from_json(&json).unwrap(), template);
}

#[tokio::test]
async fn a_for_each_over_something_that_is_not_a_list_is_an_error_naming_it() {
    // Not one reference: found before the run.
    let template = WorkflowTemplate::from_yaml(
        r#"
name: w
steps:
  - { step_id: pr, tool_name: github_create_pr, parameters: { repo: r, title: t, body: b } }
  - step_id: notes
    tool_name: slack_send_message
    parameters: { channel: c, message: "{{x}}" }
    for_each: { item: x, in: "pr {{pr.url}}" }
"#,
    )
    .unwrap();
    let problems = workflow::validate::validate(&template, &registry()).unwrap_err().to_string();
    assert!(problems.contains("`for_each.in` must be one reference to a list"), "{problems}");
    // A reference to text, which the output schema says is not a list: found before the run too.
    let mut template = template;
    template.steps[1].for_each.as_mut().unwrap().list = "{{pr.url}}".into();
    let problems = workflow::validate::validate(&template, &registry()).unwrap_err().to_string();
    assert!(problems.contains("`for x in` needs a list, but `pr.url` is a string"), "{problems}");
    // A list read from an input, which only the run can tell: the step fails, naming it.
    template.steps[1].for_each.as_mut().unwrap().list = "{{items}}".into();
    let err =
        WorkflowExecutor::new().execute(&template, &registry(), json!({ "items": "abc" })).await.unwrap_err();
    let ExecuteError::Failed(err) = err else { panic!("{err:?}") };
    assert_eq!(err.step, "notes");
    assert_eq!(err.error.to_string(), "reference `items`: `for … in` needs a list, found a string");
}
