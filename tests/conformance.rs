//! Conformance: the same DSL source, compiled by `workflow!` and read at run time by
//! `WorkflowTemplate::from_dsl`, gives the same `WorkflowTemplate`.
//!
//! Each `workflow!` below holds, character for character, the text of a file in
//! `tests/conformance/`; `the_sources_are_the_files` checks that they have not drifted apart.

use std::time::Duration;

use workflow::WorkflowTemplate;
use workflow::prelude::*;

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issue {
    pub number: u64,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct IssueList {
    pub issues: Vec<Issue>,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
}

/// List issues.
#[tool]
pub async fn github_list_issues(repo: String) -> Result<IssueList, ToolError> {
    let _ = repo;
    Ok(IssueList { issues: vec![Issue { number: 1 }] })
}

/// Open a PR.
#[tool]
pub async fn github_create_pr(repo: String, title: String, body: String) -> Result<PullRequest, ToolError> {
    let _ = (repo, title, body);
    Ok(PullRequest { url: "u".into(), number: 1 })
}

/// Post a message.
#[tool]
pub async fn slack_send_message(channel: String, message: String) -> Result<bool, ToolError> {
    let _ = (channel, message);
    Ok(true)
}

/// Add two numbers.
#[tool]
pub async fn add(x: i64, y: i64) -> Result<i64, ToolError> {
    Ok(x + y)
}

/// Scale a number.
#[tool]
pub async fn scale(x: i64, factor: f64) -> Result<f64, ToolError> {
    Ok(x as f64 * factor)
}

/// Label a value.
#[tool]
pub async fn label(text: String, loud: bool) -> Result<String, ToolError> {
    Ok(if loud { text.to_uppercase() } else { text })
}

workflow! {
    /// Create a PR for the first open issue and tell the team.
    pub github_pr(repo: String, pr_title: String) {
        list_issues = github_list_issues(repo: <<repo>>);
        create_pr   = github_create_pr(
                          repo: <<repo>>,
                          title: <<pr_title>>,
                          body: "Fixes #<<list_issues.issues[0].number>>",
                      ) retry 3 backoff 2s timeout 30s;
        notify      = slack_send_message(channel: "#dev", message: "PR created: <<create_pr.url>>")
                      depends create_pr
                      if <<create_pr.number>> > 0
                      on_error skip;
    }
}

workflow! {
    /// The seed's diamond: A, then B and C together, then D, then E.
    diamond(start: i64) {
        a = add(x: <<start>>, y: 1);
        b = add(x: <<a>>, y: 10);
        c = scale(x: <<a>>, factor: -2.5e0) retry 2 backoff 500ms x1.5 max 1m jitter;
        d = add(x: <<b>>, y: 0) depends c;
        e = label(text: "{{not a template}} <<d>> and <<b>>", loud: true)
            if <<d>> >= 3 && !(<<b>> == 0) || <<a>> != 1;
    }
}

workflow! {
    /// Every shape of retry, timeout and deadline, with and without each optional part.
    policies(n: i64) {
        plain     = add(x: <<n>>, y: 0);
        retried   = add(x: <<n>>, y: 1) retry 3;
        immediate = add(x: <<n>>, y: 2) retry 2 backoff 0s;
        grown     = add(x: <<n>>, y: 3) retry 1 backoff 1s x3;
        capped    = add(x: <<n>>, y: 4) retry 2 max 5s;
        jittered  = add(x: <<n>>, y: 5) retry 4 backoff 100ms x1.5 max 1s jitter timeout 250ms;
        limited   = add(x: <<retried>>, y: 6) timeout 1.5s on_error skip;
        gated     = add(x: <<limited>>, y: 7) if <<n>> > 0 && <<capped>> != 3 timeout 2m retry 1 backoff 2s;
        bounded   = add(x: <<n>>, y: 8) retry 5 backoff 1s timeout 2s deadline 10s;
        budget    = add(x: <<n>>, y: 9) deadline 500ms;
    }
}

/// A `.wf` source, the template of the same source compiled, and what the compiled step driver
/// runs for each step.
type Case = (&'static str, fn() -> WorkflowTemplate, &'static [workflow::StepSpec]);

const CORPUS: &[Case] = &[
    (include_str!("conformance/github_pr.wf"), github_pr::template, github_pr::SPECS),
    (include_str!("conformance/diamond.wf"), diamond::template, diamond::SPECS),
    (include_str!("conformance/policies.wf"), policies::template, policies::SPECS),
];

fn registry() -> ToolRegistry {
    let mut tools = ToolRegistry::new(());
    tools.register::<add>().unwrap().register::<scale>().unwrap().register::<label>().unwrap();
    tools
        .register::<github_list_issues>()
        .unwrap()
        .register::<github_create_pr>()
        .unwrap()
        .register::<slack_send_message>()
        .unwrap();
    tools
}

#[test]
fn the_step_driver_runs_the_same_policies_compiled_and_at_run_time() {
    let tools = registry();
    for (source, _, compiled) in CORPUS {
        // The text read at run time, and the same text as JSON (flat fields in seconds).
        let parsed = WorkflowTemplate::from_dsl(source).unwrap().remove(0);
        let json = WorkflowTemplate::from_json(&serde_json::to_string(&parsed).unwrap()).unwrap();
        for template in [parsed, json] {
            let prepared = workflow::WorkflowExecutor::new().prepare(&template, &tools).unwrap();
            assert_eq!(prepared.specs(), *compiled, "{source}");
        }
    }
    let retried = &policies::SPECS[1].retry;
    assert_eq!((retried.retries, retried.backoff, retried.multiplier), (3, Duration::from_secs(2), 2.0));
    let capped = &policies::SPECS[4].retry;
    assert_eq!((capped.backoff, capped.max_delay), (Duration::from_secs(2), Some(Duration::from_secs(5))));
    assert_eq!(policies::SPECS[2].retry.backoff, Duration::ZERO);
    assert_eq!(policies::SPECS[5].timeout, Some(Duration::from_millis(250)));
    assert_eq!(policies::SPECS[6].timeout, Some(Duration::from_millis(1500)));
    assert_eq!(policies::SPECS[6].deadline, None);
    assert_eq!(
        (policies::SPECS[8].timeout, policies::SPECS[8].deadline),
        (Some(Duration::from_secs(2)), Some(Duration::from_secs(10)))
    );
    assert_eq!(policies::SPECS[9].deadline, Some(Duration::from_millis(500)));
}

#[test]
fn the_sources_are_the_files() {
    let this = include_str!("conformance.rs");
    for (source, _, _) in CORPUS {
        assert!(
            this.contains(&format!("workflow! {{\n{source}}}")),
            "a workflow! here differs from:\n{source}"
        );
    }
}

#[test]
fn compiled_and_parsed_templates_are_equal() {
    for (source, compiled, _) in CORPUS {
        let parsed = WorkflowTemplate::from_dsl(source).unwrap();
        assert_eq!(parsed.len(), 1);
        let compiled = compiled();
        assert_eq!(
            serde_json::to_string_pretty(&parsed[0]).unwrap(),
            serde_json::to_string_pretty(&compiled).unwrap(),
            "{source}"
        );
        assert_eq!(parsed[0], compiled);
    }
}

#[test]
fn the_template_holds_what_the_source_says() {
    let t = github_pr::template();
    assert_eq!(t.description, "Create a PR for the first open issue and tell the team.");
    assert_eq!(t.steps[1].parameters["body"], "Fixes #{{list_issues.issues[0].number}}");
    assert_eq!(t.steps[1].retry_count, 3);
    assert_eq!(t.steps[1].timeout_seconds, Some(30.0));
    assert_eq!(t.steps[2].condition.as_deref(), Some("{{create_pr.number}} > 0"));
    assert_eq!(
        t.parallel_groups,
        Some(vec![vec!["list_issues".to_owned()], vec!["create_pr".into()], vec!["notify".into()]])
    );
    let d = diamond::template();
    assert_eq!(d.steps[4].parameters["text"], "{{'{{'}}not a template}} {{d}} and {{b}}");
    assert_eq!(d.steps[4].condition.as_deref(), Some("(({{d}} >= 3) && !({{b}} == 0)) || ({{a}} != 1)"));
}

#[tokio::test]
async fn compiled_and_parsed_workflows_compute_the_same_results() {
    let tools = registry();
    let parsed = WorkflowTemplate::from_dsl(include_str!("conformance/diamond.wf")).unwrap().remove(0);
    for start in [0, 1, 5] {
        let compiled = diamond(start).run(&()).await.unwrap();
        let dynamic = workflow::WorkflowExecutor::new()
            .execute(&parsed, &tools, serde_json::json!({ "start": start }))
            .await
            .unwrap();
        let mut expected = serde_json::to_value(&compiled.outputs).unwrap();
        expected.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        assert_eq!(serde_json::Value::Object(dynamic.context.step_results), expected, "start = {start}");
    }
}

#[tokio::test]
async fn every_policy_shape_computes_the_same_results_compiled_and_at_run_time() {
    let tools = registry();
    let parsed = WorkflowTemplate::from_dsl(include_str!("conformance/policies.wf")).unwrap().remove(0);
    for n in [-1, 0, 3] {
        let compiled = policies(n).run(&()).await.unwrap();
        let dynamic = workflow::WorkflowExecutor::new()
            .execute(&parsed, &tools, serde_json::json!({ "n": n }))
            .await
            .unwrap();
        let mut expected = serde_json::to_value(&compiled.outputs).unwrap();
        expected.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        assert_eq!(serde_json::Value::Object(dynamic.context.step_results), expected, "n = {n}");
    }
}
