//! The built-in workflows other than `github_pr`, compiled and as templates, against a local
//! server that answers as the APIs they call document.

mod fake;

use std::sync::Arc;
use std::time::Duration;

use fake::{Fake, issue, serve};
use serde_json::{Value, json};
use workflow::journal::{Journal, MemoryJournal, RunId};
use workflow::tokens::Tokenizer;
use workflow::validate::validate;
use workflow::{RunContext, StepStatus, WorkflowExecutor};
use workflow_library::workflows::{
    approval, data_pipeline, file_report, search_report, slack_notification_chain,
};
use workflow_library::{Config, Services, library, registry, templates};

#[tokio::test]
async fn the_slack_chain_replies_in_the_thread_of_its_post_and_reacts_to_it() {
    let (fake, _, services) = serve(Fake::default()).await;
    let run = slack_notification_chain(
        "#ops".into(),
        "Deploy done".into(),
        "v1.2 in 4 min".into(),
        "rocket".into(),
    )
    .run(&services)
    .await
    .unwrap();
    assert_eq!(run.post.ts, "1700000000.000101");
    let received = fake.received();
    assert_eq!(received[0].body, json!({ "channel": "#ops", "text": "Deploy done" }));
    // The reply and the reaction run together after the post, in either order.
    let mut rest: Vec<_> = received[1..].iter().map(|r| (r.path.as_str(), r.body.clone())).collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        rest,
        [
            (
                "/api/chat.postMessage",
                json!({ "channel": "C024BE91L", "thread_ts": "1700000000.000101", "text": "v1.2 in 4 min" })
            ),
            (
                "/api/reactions.add",
                json!({ "channel": "C024BE91L", "timestamp": "1700000000.000101", "name": "rocket" })
            ),
        ]
    );
    assert_eq!(slack_notification_chain::LEVELS, &[&["post"][..], &["thread", "react"]]);
}

#[tokio::test]
async fn the_data_pipeline_fetches_keeps_the_fields_stores_and_says_how_many() {
    let (fake, url, services) = serve(Fake::default()).await;
    let source = json!([
        { "id": 1, "name": "ana", "email": "ana@example.com", "score": 9 },
        { "id": 2, "name": "bo", "score": 7 }
    ]);
    fake.documents.lock().unwrap().insert("users".into(), source);
    let run = data_pipeline(
        format!("{url}/store/users"),
        vec!["id".into(), "score".into()],
        format!("{url}/store/scores"),
        "#data".into(),
    )
    .run(&services)
    .await
    .unwrap();

    let stored = fake.documents.lock().unwrap().get("scores").cloned();
    assert_eq!(stored, Some(json!([{ "id": 1, "score": 9 }, { "id": 2, "score": 7 }])));
    assert_eq!((run.store.status, run.transform.count), (201, 2));
    let slack = fake.received().into_iter().find(|r| r.path == "/api/chat.postMessage").unwrap();
    assert_eq!(slack.body["text"], format!("Stored 2 records at {url}/store/scores"));
}

#[tokio::test]
async fn an_http_url_outside_the_allowed_prefixes_is_refused_and_not_retried() {
    let (fake, url, services) = serve(Fake::default()).await;
    let err = data_pipeline(format!("{url}/admin"), vec![], format!("{url}/store/x"), "#data".into())
        .run(&services)
        .await
        .unwrap_err();
    assert_eq!(err.step, "fetch");
    assert!(err.to_string().contains("is outside the allowed URLs"), "{err}");
    assert_eq!(err.record.step("fetch").unwrap().attempts.len(), 1, "a refused URL is permanent");
    assert!(fake.received().is_empty());
}

/// Runs the approval workflow in the background in a journaled run, and waits until it has
/// asked on Slack.
async fn ask_for_approval(
    timeout_secs: u64,
) -> (Arc<Fake>, Arc<MemoryJournal>, RunId, tokio::task::JoinHandle<Result<Vec<(String, StepStatus)>, String>>)
{
    let (fake, _, services) = serve(Fake::default()).await;
    let journal = Arc::new(MemoryJournal::new());
    let run = RunId::random();
    let (j, r) = (journal.clone(), run.clone());
    let task = tokio::spawn(async move {
        approval(
            "octo/hello".into(),
            "Release 1.2".into(),
            "Ship it?".into(),
            "@ana".into(),
            "#rel".into(),
            timeout_secs,
        )
        .run(RunContext::new(&services).with_journal(j, r))
        .await
        .map(|done| done.record.steps.iter().map(|s| (s.step.to_string(), s.status)).collect())
        .map_err(|e| e.to_string())
    });
    while !fake.calls().iter().any(|(_, path)| path == "/api/chat.postMessage") {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (fake, journal, run, task)
}

fn statuses(steps: &[(String, StepStatus)]) -> Vec<(&str, StepStatus)> {
    steps.iter().map(|(step, status)| (step.as_str(), *status)).collect()
}

#[tokio::test]
async fn an_approval_waits_for_the_signal_then_closes_the_issue_with_the_decision() {
    let (fake, journal, run, task) = ask_for_approval(60).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!task.is_finished(), "the run waits for the signal");
    journal.send_signal(&run, "approval", json!({ "approved": true, "by": "ana" })).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();

    assert_eq!(
        statuses(&done),
        [
            ("item", StepStatus::Succeeded),
            ("ask", StepStatus::Succeeded),
            ("decision", StepStatus::Succeeded),
            ("verdict", StepStatus::Succeeded),
            ("expire", StepStatus::Skipped),
            ("update", StepStatus::Succeeded),
        ]
    );
    let received = fake.received();
    let ask = received.iter().find(|r| r.path == "/api/chat.postMessage").unwrap();
    assert_eq!(ask.body["text"], "@ana: please approve https://github.com/octo/hello/issues/100");
    let comment = received.iter().find(|r| r.path.ends_with("/comments")).unwrap();
    assert_eq!(
        (comment.path.as_str(), &comment.body),
        ("/repos/octo/hello/issues/100/comments", &json!({ "body": "Approved by ana." }))
    );
    let patch = received.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.body, json!({ "state": "closed", "state_reason": "completed" }));
}

#[tokio::test]
async fn an_approval_without_a_decision_in_time_closes_the_issue_as_not_planned() {
    let (fake, _journal, _run, task) = ask_for_approval(1).await;
    let done = tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    assert_eq!(
        statuses(&done)[2..],
        [
            ("decision", StepStatus::Failed),
            ("verdict", StepStatus::Skipped),
            ("expire", StepStatus::Succeeded),
            ("update", StepStatus::Skipped),
        ]
    );
    let comment = fake.received().into_iter().find(|r| r.path.ends_with("/comments")).unwrap();
    assert_eq!(comment.body, json!({ "body": "No decision within 1 s." }));
    let patch = fake.received().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.body["state_reason"], "not_planned");
}

#[tokio::test]
async fn a_malformed_decision_fails_the_run_naming_what_is_missing() {
    let (fake, journal, run, task) = ask_for_approval(60).await;
    journal.send_signal(&run, "approval", json!({ "approved": "yes" })).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap_err();
    assert!(err.contains("step `verdict`") && err.contains("must have `approved`: true or false"), "{err}");
    assert!(!fake.calls().iter().any(|(m, _)| *m == "PATCH"), "the issue is left open");
}

#[tokio::test]
async fn search_and_report_searches_at_once_and_posts_each_hit_once() {
    let hit = |n: u64, title: &str| issue(n, title, "open");
    let repo = json!({ "full_name": "octo/parser", "html_url": "https://github.com/octo/parser" });
    let fake = Fake {
        found_issues: vec![hit(1, "Parser [crash]"), hit(2, "Slow parse")],
        found_pulls: vec![hit(2, "Slow parse"), hit(3, "Faster parse")],
        found_repos: vec![repo],
        ..Fake::default()
    };
    let (fake, _, services) = serve(fake).await;
    let run = search_report("parser".into(), "#research".into()).run(&services).await.unwrap();

    assert_eq!(search_report::LEVELS[0], &["issues", "pulls", "repos"]);
    assert_eq!(run.found.total, 4, "#2 is in both searches and counted once");
    let queries: Vec<_> = fake.received().iter().filter_map(|r| r.query.clone()).collect();
    assert_eq!(queries.len(), 3);
    assert!(queries.contains(&"q=parser+is%3Aissue".to_owned()), "{queries:?}");
    let text = &fake.received().into_iter().find(|r| r.path == "/api/chat.postMessage").unwrap().body["text"];
    assert_eq!(
        text.as_str().unwrap(),
        "# GitHub: parser\n\n## Issues (2)\n\n\
         - [Parser \\[crash\\]](https://github.com/octo/hello/issues/1)\n\
         - [Slow parse](https://github.com/octo/hello/issues/2)\n\n\
         ## Pull requests (1)\n\n- [Faster parse](https://github.com/octo/hello/issues/3)\n\n\
         ## Repositories (1)\n\n- [octo/parser](https://github.com/octo/parser)\n"
    );
}

fn files_services(dir: &std::path::Path) -> Services {
    Services::new(&Config { files_root: dir.to_owned(), ..Config::default() }).unwrap()
}

#[tokio::test]
async fn the_file_report_writes_the_records_as_a_markdown_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.json"),
        r#"[{"name":"ana","team":"core|infra","age":31},{"name":"bo","age":27}]"#,
    )
    .unwrap();
    let services = files_services(dir.path());
    let run = file_report(
        "users.json".into(),
        vec!["name".into(), "team".into()],
        "Users".into(),
        "users.md".into(),
    )
    .run(&services)
    .await
    .unwrap();
    let written = std::fs::read_to_string(dir.path().join("users.md")).unwrap();
    assert_eq!(written, "# Users\n\n| name | team |\n| --- | --- |\n| ana | core\\|infra |\n| bo |  |\n");
    assert_eq!(run.write.bytes, written.len() as u64);
}

#[tokio::test]
async fn file_tools_refuse_paths_outside_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    let tools = registry(files_services(&dir.path().join("inner")));
    for path in ["../secret.txt", "/etc/passwd", "a/../../b"] {
        let err = tools.call("file_read", json!({ "path": path })).await.unwrap_err();
        assert!(err.to_string().contains("is outside"), "{path}: {err}");
    }
    let err = tools.call("file_read_json", json!({ "path": "missing.json" })).await.unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
}

#[tokio::test]
async fn each_template_is_valid_against_the_registry_and_runs_as_its_compiled_twin() {
    let (fake, url, services) = serve(Fake::default()).await;
    let tools = registry(services.clone());
    for template in templates() {
        validate(&template, &tools).unwrap_or_else(|p| panic!("{}: {p}", template.name));
    }
    fake.documents.lock().unwrap().insert("users".into(), json!([{ "id": 1, "x": 2 }]));
    let inputs = json!({ "source_url": format!("{url}/store/users"), "fields": ["id"],
                         "target_url": format!("{url}/store/ids"), "channel": "#data" });
    let template = library().get("data_pipeline").unwrap().template.clone();
    let run = WorkflowExecutor::new().execute(&template, &tools, inputs).await.unwrap();
    let compiled = data_pipeline(
        format!("{url}/store/users"),
        vec!["id".into()],
        format!("{url}/store/ids2"),
        "#data".into(),
    )
    .run(&services)
    .await
    .unwrap();
    assert_eq!(
        run.context.get_result("transform"),
        Some(&serde_json::to_value(&compiled.transform).unwrap())
    );
    let steps: Vec<(&str, StepStatus)> =
        run.record.steps.iter().map(|s| (s.step.as_ref(), s.status)).collect();
    assert_eq!(
        steps,
        [
            ("fetch", StepStatus::Succeeded),
            ("transform", StepStatus::Succeeded),
            ("store", StepStatus::Succeeded),
            ("notify", StepStatus::Succeeded)
        ]
    );
    assert_eq!(fake.documents.lock().unwrap().get("ids"), Some(&json!([{ "id": 1 }])));
}

#[test]
fn the_library_has_every_built_in_with_its_category_and_suggests_by_tools() {
    let library = library();
    let names: Vec<(&str, Option<&Value>)> =
        library.iter().map(|e| (e.template.name.as_str(), e.template.metadata.get("category"))).collect();
    assert_eq!(
        names,
        [
            ("github_pr", Some(&json!("github"))),
            ("slack_notification_chain", Some(&json!("slack"))),
            ("data_pipeline", Some(&json!("data"))),
            ("approval", Some(&json!("approval"))),
            ("search_report", Some(&json!("search"))),
            ("file_report", Some(&json!("data"))),
        ]
    );
    let found =
        library.suggest(&["slack_send_message", "slack_reply", "slack_add_reaction", "github_list_issues"]);
    assert_eq!(
        found.iter().map(|s| s.entry.template.name.as_str()).collect::<Vec<_>>(),
        ["slack_notification_chain"]
    );
}

/// One token per run of letters or digits: enough to compare two counts.
struct Words;

impl workflow::tokens::Tokenizer for Words {
    fn encoding(&self) -> &str {
        "words"
    }
    fn count(&self, text: &str) -> usize {
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count()
    }
}

#[tokio::test]
async fn a_compiled_run_and_its_template_count_the_same_tokens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.json"),
        r#"[{"name":"ana","team":"core","age":31},{"name":"bo","age":27}]"#,
    )
    .unwrap();
    let services = files_services(dir.path());
    let fields = || vec!["name".to_owned(), "team".to_owned()];
    let compiled = file_report("users.json".into(), fields(), "Users".into(), "users.md".into())
        .run(RunContext::new(&services).with_tokenizer(&Words))
        .await
        .unwrap();
    let tools = registry(services.clone());
    let inputs = json!({ "source": "users.json", "fields": fields(), "title": "Users", "out": "users.md" });
    let template = library().get("file_report").unwrap().template.clone();
    let run = WorkflowExecutor::new()
        .execute(&template, RunContext::new(&tools).with_tokenizer(&Words), inputs)
        .await
        .unwrap();

    let tokens = compiled.record.tokens.clone().expect("counted");
    assert_eq!(Some(&tokens), run.record.tokens.as_ref());
    // `write` returns; `read`, `pick` and `table` stay in the workflow.
    let words = |v: &Value| Words.count(&workflow::tokens::text_of(v)) as u64;
    let kept: u64 = ["read", "pick", "table"].iter().map(|s| words(run.context.get_result(s).unwrap())).sum();
    assert_eq!(
        (tokens.encoding.as_str(), tokens.kept, tokens.returned),
        ("words", kept, words(run.context.get_result("write").unwrap()))
    );
    let untouched = file_report("users.json".into(), fields(), "Users".into(), "users.md".into())
        .run(&services)
        .await
        .unwrap();
    assert_eq!(untouched.record.tokens, None, "nothing is counted without a tokenizer");
}
