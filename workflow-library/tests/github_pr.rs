//! The `github_pr` workflow and its tools, against a local server that answers as GitHub's REST
//! API and Slack's Web API document.

mod fake;

use axum::http::StatusCode;
use fake::{Fake, issues, serve};
use serde_json::json;
use std::sync::atomic::AtomicU32;
use workflow::{CallError, StepStatus};
use workflow_library::registry;
use workflow_library::workflows::github_pr;

/// The workflow with the inputs every test uses.
fn workflow() -> github_pr {
    github_pr("octo/hello".into(), "fix-crash".into(), "main".into(), "Fix the crash".into(), "#dev".into())
}

#[tokio::test]
async fn opens_a_pr_for_the_first_issue_and_posts_its_url() {
    let (fake, _, services) = serve(Fake { issues: issues(), ..Fake::default() }).await;
    let run = workflow().run(&services).await.unwrap();

    assert_eq!(run.list_issues.issues.iter().map(|i| i.number).collect::<Vec<_>>(), [42, 17]);
    assert_eq!(
        (run.create_pr.number, run.create_pr.url.as_str()),
        (101, "https://github.com/octo/hello/pull/101")
    );
    assert_eq!(run.notify.channel, "C024BE91L");

    let received = fake.received();
    let calls: Vec<_> = received.iter().map(|r| (r.method, r.path.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("GET", "/repos/octo/hello/issues"),
            ("POST", "/repos/octo/hello/pulls"),
            ("POST", "/api/chat.postMessage")
        ]
    );
    assert_eq!(received[0].query.as_deref(), Some("state=open"));
    let auth: Vec<_> = received.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(auth, [Some("Bearer ghp_test"), Some("Bearer ghp_test"), Some("Bearer xoxb-test")]);
    for github in &received[..2] {
        assert_eq!(github.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(github.header("x-github-api-version"), Some("2022-11-28"));
        assert!(github.header("user-agent").unwrap().starts_with("workflow-library/"));
    }
    assert_eq!(
        received[1].body,
        json!({ "title": "Fix the crash", "head": "fix-crash", "base": "main", "body": "Fixes #42" })
    );
    assert_eq!(
        received[2].body,
        json!({ "channel": "#dev", "text": "PR created: https://github.com/octo/hello/pull/101" })
    );

    assert_eq!(github_pr::LEVELS, &[&["list_issues"][..], &["create_pr"], &["notify"]]);
    let steps: Vec<_> =
        run.record.steps.iter().map(|s| (s.step.as_ref(), s.status, s.attempts.len())).collect();
    assert_eq!(
        steps,
        [
            ("list_issues", StepStatus::Succeeded, 1),
            ("create_pr", StepStatus::Succeeded, 1),
            ("notify", StepStatus::Succeeded, 1)
        ]
    );
}

#[tokio::test]
async fn a_slack_error_fails_the_run_at_notify_without_a_retry() {
    let fake = Fake { issues: issues(), slack_error: Some("channel_not_found"), ..Fake::default() };
    let (fake, _, services) = serve(fake).await;
    let err = workflow().run(&services).await.unwrap_err();

    assert_eq!(err.step, "notify");
    assert_eq!(
        err.to_string(),
        "workflow `github_pr` failed at step `notify`: tool `slack_send_message` failed: \
         Slack answered `channel_not_found`"
    );
    let notify = err.record.step("notify").unwrap();
    assert_eq!((notify.status, notify.attempts.len()), (StepStatus::Failed, 1));
    assert_eq!(err.record.step("create_pr").unwrap().status, StepStatus::Succeeded);
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test]
async fn github_503s_are_retried_until_the_pr_is_created() {
    let fake = Fake { issues: issues(), pulls_unavailable: AtomicU32::new(2), ..Fake::default() };
    let (fake, _, services) = serve(fake).await;
    let run = workflow().run(&services).await.unwrap();

    let create_pr = run.record.step("create_pr").unwrap();
    assert_eq!((create_pr.status, create_pr.attempts.len()), (StepStatus::Succeeded, 3));
    assert_eq!(fake.received().iter().filter(|r| r.path.ends_with("/pulls")).count(), 3);
}

#[tokio::test]
async fn no_open_issue_stops_the_run_before_a_pr_is_opened() {
    let (fake, _, services) = serve(Fake { issues: issues()[..1].to_vec(), ..Fake::default() }).await;
    let err = workflow().run(&services).await.unwrap_err();

    assert_eq!(err.step, "create_pr");
    assert_eq!(
        err.error.to_string(),
        "reference `list_issues.issues[0]`: index 0 is out of range for a list of 0 items"
    );
    assert_eq!(fake.received().len(), 1, "only the issues were listed");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_other_client_errors_are_not() {
    let cases = [
        (StatusCode::TOO_MANY_REQUESTS, false, true, Some("rate_limited")),
        (StatusCode::BAD_GATEWAY, false, true, None),
        (StatusCode::FORBIDDEN, true, true, Some("rate_limited")),
        (StatusCode::FORBIDDEN, false, false, None),
        (StatusCode::NOT_FOUND, false, false, None),
    ];
    for (status, rate_limited, retryable, class) in cases {
        let (_, _, services) =
            serve(Fake { issues_error: Some((status, rate_limited)), ..Fake::default() }).await;
        let err =
            registry(services).call("github_list_issues", json!({ "repo": "octo/hello" })).await.unwrap_err();
        let CallError::Tool { source, .. } = err else { panic!("expected a tool error, got {err}") };
        assert_eq!(source.is_retryable(), retryable, "{status} (rate limited: {rate_limited})");
        assert_eq!(source.class(), class, "{status}");
        let reason = status.canonical_reason().unwrap();
        assert_eq!(source.message(), format!("GitHub answered {status}: {reason}"));
    }
}

#[tokio::test]
async fn a_repository_that_is_not_owner_slash_name_is_refused_before_any_request() {
    let (fake, _, services) = serve(Fake::default()).await;
    let tools = registry(services);
    for repo in ["octo", "octo/hello/../../users", "octo/hello?x=1", "../hello", "/hello"] {
        let err = tools.call("github_list_issues", json!({ "repo": repo })).await.unwrap_err();
        assert!(err.to_string().contains("expected a repository as `owner/name`"), "{repo}: {err}");
    }
    assert!(fake.received().is_empty());
}

/// The seed's own example, counted with OpenAI's tokenizer: a repository with 30 open issues
/// (as GitHub lists a page of them), the PR opened for the newest, the Slack post. The issues and
/// the PR stay in the workflow; the model gets the Slack message's channel and timestamp.
#[tokio::test]
async fn the_github_pr_workflow_keeps_the_issue_list_out_of_the_model() {
    let many: Vec<serde_json::Value> = (1..=30)
        .rev()
        .map(|n| fake::issue(n, &format!("Crash when the input file has {n} empty lines at its end"), "open"))
        .collect();
    let (_, _, services) = serve(Fake { issues: many, ..Fake::default() }).await;
    let o200k = workflow_tokens::Tiktoken::o200k().unwrap();
    let run = workflow().run(workflow::RunContext::new(&services).with_tokenizer(&o200k)).await.unwrap();
    let tokens = run.record.tokens.clone().unwrap();
    let share = tokens.kept_share().unwrap();
    eprintln!(
        "github_pr, 30 issues: {} tokens kept, {} returned ({:.1} % kept)",
        tokens.kept,
        tokens.returned,
        share * 100.0
    );
    assert_eq!(tokens.encoding, "o200k_base");
    assert!(tokens.kept > 20 * tokens.returned, "{tokens:?}");
}
