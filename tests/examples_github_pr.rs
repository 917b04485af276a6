//! The `github_pr` example's tools and workflow, run against a local server that answers as
//! GitHub's REST API and Slack's Web API document.

#[path = "../examples/github_pr/tools.rs"]
mod tools;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tools::{Services, github_pr};
use workflow::{CallError, StepStatus, ToolRegistry};

/// A request the fake APIs received.
#[derive(Clone, Debug)]
struct Received {
    method: &'static str,
    path: String,
    headers: HeaderMap,
    body: Value,
}

impl Received {
    /// The value of the header `name`, if it was sent.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// How the fake APIs answer, and what they received.
#[derive(Default)]
struct Fake {
    /// What `GET /repos/{owner}/{repo}/issues` lists.
    issues: Vec<Value>,
    /// An error status for `GET /repos/{owner}/{repo}/issues`, and whether it says that the
    /// rate limit is exhausted.
    issues_error: Option<(StatusCode, bool)>,
    /// How many `POST /repos/{owner}/{repo}/pulls` to answer with 503 before one succeeds.
    pulls_unavailable: AtomicU32,
    /// The `error` of Slack's `{"ok": false}` answer, if it fails.
    slack_error: Option<&'static str>,
    /// Every request, in the order received.
    received: Mutex<Vec<Received>>,
}

impl Fake {
    /// Records a request.
    fn receive(&self, method: &'static str, uri: &Uri, headers: &HeaderMap, body: Value) {
        let (path, headers) = (uri.path().to_owned(), headers.clone());
        self.received.lock().unwrap().push(Received { method, path, headers, body });
    }

    /// Every request so far.
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// `GET /repos/{owner}/{repo}/issues`: the issues, or the error status asked for.
async fn list_issues(State(fake): State<Arc<Fake>>, uri: Uri, headers: HeaderMap) -> Response {
    fake.receive("GET", &uri, &headers, Value::Null);
    match fake.issues_error {
        Some((status, rate_limited)) => {
            let remaining = if rate_limited { "0" } else { "4999" };
            let message = status.canonical_reason().unwrap_or("Error");
            (status, [("x-ratelimit-remaining", remaining)], Json(json!({ "message": message })))
                .into_response()
        }
        None => Json(Value::Array(fake.issues.clone())).into_response(),
    }
}

/// `POST /repos/{owner}/{repo}/pulls`: 503 as many times as asked for, then `201 Created`.
async fn create_pull(
    State(fake): State<Arc<Fake>>,
    Path((owner, repo)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    fake.receive("POST", &uri, &headers, body.clone());
    let unavailable =
        fake.pulls_unavailable.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if unavailable.is_ok() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "message": "Service Unavailable" })));
    }
    let url = format!("https://github.com/{owner}/{repo}/pull/101");
    (
        StatusCode::CREATED,
        Json(json!({ "number": 101, "html_url": url, "state": "open", "title": body["title"] })),
    )
}

/// `POST /api/chat.postMessage`: `"ok": true`, or `"ok": false` with the error asked for.
async fn post_message(
    State(fake): State<Arc<Fake>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    fake.receive("POST", &uri, &headers, body.clone());
    match fake.slack_error {
        Some(error) => Json(json!({ "ok": false, "error": error })),
        None => {
            Json(json!({ "ok": true, "channel": "C024BE91L", "ts": "1700000000.000100", "message": body }))
        }
    }
}

/// Open issues as GitHub lists them, newest first: a pull request (which the tool skips), then
/// issues #42 and #17.
fn issues() -> Vec<Value> {
    let item = |number: u64, title: &str| {
        json!({ "number": number, "title": title, "state": "open",
                "html_url": format!("https://github.com/octo/hello/issues/{number}") })
    };
    let mut pull = item(50, "Add a logo");
    pull["pull_request"] = json!({ "url": "https://api.github.com/repos/octo/hello/pulls/50" });
    vec![pull, item(42, "Crash on empty input"), item(17, "Typo in README")]
}

/// Serves `fake` on a free local port, and returns the services pointed at it.
async fn serve(fake: Fake) -> (Arc<Fake>, Services) {
    let fake = Arc::new(fake);
    let app = Router::new()
        .route("/repos/{owner}/{repo}/issues", get(list_issues))
        .route("/repos/{owner}/{repo}/pulls", post(create_pull))
        .route("/api/chat.postMessage", post(post_message))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = tools::http_client().no_proxy().build().unwrap();
    let services = Services::new(
        http,
        &format!("http://{addr}/"),
        "ghp_test",
        &format!("http://{addr}/api"),
        "xoxb-test",
    );
    (fake, services)
}

/// The workflow with the inputs every test uses.
fn workflow() -> github_pr {
    github_pr("octo/hello".into(), "fix-crash".into(), "main".into(), "Fix the crash".into(), "#dev".into())
}

#[tokio::test]
async fn opens_a_pr_for_the_first_issue_and_posts_its_url() {
    let (fake, services) = serve(Fake { issues: issues(), ..Fake::default() }).await;
    let run = workflow().run(&services).await.unwrap();

    assert_eq!(run.list_issues.issues.iter().map(|i| i.number).collect::<Vec<_>>(), [42, 17]);
    assert_eq!(
        (run.create_pr.number, run.create_pr.url.as_str()),
        (101, "https://github.com/octo/hello/pull/101")
    );
    assert_eq!((run.notify.channel.as_str(), run.notify.ts.as_str()), ("C024BE91L", "1700000000.000100"));

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
    let auth: Vec<_> = received.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(auth, [Some("Bearer ghp_test"), Some("Bearer ghp_test"), Some("Bearer xoxb-test")]);
    for github in &received[..2] {
        assert_eq!(github.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(github.header("x-github-api-version"), Some("2022-11-28"));
        assert!(github.header("user-agent").unwrap().starts_with("workflow-github-pr-example/"));
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
    for pair in run.record.steps.windows(2) {
        assert!(
            pair[0].finished <= pair[1].started,
            "`{}` started before `{}` finished",
            pair[1].step,
            pair[0].step
        );
    }
}

#[tokio::test]
async fn a_slack_error_fails_the_run_at_notify() {
    let fake = Fake { issues: issues(), slack_error: Some("channel_not_found"), ..Fake::default() };
    let (fake, services) = serve(fake).await;
    let err = workflow().run(&services).await.unwrap_err();

    assert_eq!(err.step, "notify");
    assert_eq!(
        err.to_string(),
        "workflow `github_pr` failed at step `notify`: tool `slack_send_message` failed: \
         Slack answered `channel_not_found`"
    );
    let notify = err.record.step("notify").unwrap();
    assert_eq!(
        (notify.status, notify.attempts.len()),
        (StepStatus::Failed, 1),
        "a permanent error is not retried"
    );
    assert_eq!(err.record.step("create_pr").unwrap().status, StepStatus::Succeeded);
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test]
async fn github_503s_are_retried_until_the_pr_is_created() {
    let fake = Fake { issues: issues(), pulls_unavailable: AtomicU32::new(2), ..Fake::default() };
    let (fake, services) = serve(fake).await;
    let run = workflow().run(&services).await.unwrap();

    let create_pr = run.record.step("create_pr").unwrap();
    assert_eq!((create_pr.status, create_pr.attempts.len()), (StepStatus::Succeeded, 3));
    assert_eq!(run.create_pr.number, 101);
    let pulls = fake.received().iter().filter(|r| r.path.ends_with("/pulls")).count();
    assert_eq!(pulls, 3);
}

#[tokio::test]
async fn no_open_issue_stops_the_run_before_a_pr_is_opened() {
    let (fake, services) = serve(Fake { issues: issues()[..1].to_vec(), ..Fake::default() }).await;
    let err = workflow().run(&services).await.unwrap_err();

    assert_eq!(err.step, "create_pr");
    assert_eq!(
        err.error.to_string(),
        "reference `list_issues.issues[0]`: index 0 is out of range for a list of 0 items"
    );
    assert_eq!(fake.received().len(), 1, "only the issues were listed");
}

#[tokio::test]
async fn tools_are_callable_by_name_with_only_their_model_facing_arguments() {
    let (_, services) = serve(Fake { issues: issues(), ..Fake::default() }).await;
    let mut registry = ToolRegistry::new(services);
    registry.register::<tools::github_list_issues>().unwrap();

    let schema =
        serde_json::to_value(&registry.definition("github_list_issues").unwrap().input_schema).unwrap();
    assert_eq!(schema["properties"].as_object().unwrap().keys().collect::<Vec<_>>(), ["repo"]);
    let listed = registry.call("github_list_issues", json!({ "repo": "octo/hello" })).await.unwrap();
    assert_eq!(
        listed["issues"][0],
        json!({ "number": 42, "title": "Crash on empty input", "url": "https://github.com/octo/hello/issues/42" })
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_other_client_errors_are_not() {
    let cases = [
        (StatusCode::TOO_MANY_REQUESTS, false, true),
        (StatusCode::BAD_GATEWAY, false, true),
        (StatusCode::FORBIDDEN, true, true),
        (StatusCode::FORBIDDEN, false, false),
        (StatusCode::NOT_FOUND, false, false),
    ];
    for (status, rate_limited, retryable) in cases {
        let (_, services) =
            serve(Fake { issues_error: Some((status, rate_limited)), ..Fake::default() }).await;
        let mut registry = ToolRegistry::new(services);
        registry.register::<tools::github_list_issues>().unwrap();
        let err = registry.call("github_list_issues", json!({ "repo": "octo/hello" })).await.unwrap_err();
        let CallError::Tool { source, .. } = err else { panic!("expected a tool error, got {err}") };
        assert_eq!(source.is_retryable(), retryable, "{status} (rate limited: {rate_limited})");
        let reason = status.canonical_reason().unwrap();
        assert_eq!(source.message(), format!("GitHub answered {status}: {reason}"));
    }
}
