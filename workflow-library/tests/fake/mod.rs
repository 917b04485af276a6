//! A local server that answers as GitHub's REST API, Slack's Web API and a plain HTTP document
//! store document, and records every request it receives.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use workflow_library::{Config, Services};

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: &'static str,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    /// The value of the header `name`, if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// How the fake answers, and what it received.
#[derive(Default)]
pub struct Fake {
    /// What `GET /repos/{owner}/{repo}/issues` lists.
    pub issues: Vec<Value>,
    /// An error status for `GET /repos/{owner}/{repo}/issues`, and whether it says that the
    /// rate limit is exhausted.
    pub issues_error: Option<(StatusCode, bool)>,
    /// How many `POST /repos/{owner}/{repo}/pulls` to answer with 503 before one succeeds.
    pub pulls_unavailable: AtomicU32,
    /// The `error` of Slack's `{"ok": false}` answer to `chat.postMessage`, if it fails.
    pub slack_error: Option<&'static str>,
    /// What `GET /search/issues` finds, by whether the query has `is:pr`.
    pub found_issues: Vec<Value>,
    pub found_pulls: Vec<Value>,
    /// What `GET /search/repositories` finds.
    pub found_repos: Vec<Value>,
    /// The documents of the plain HTTP store, by path.
    pub documents: Mutex<HashMap<String, Value>>,
    /// The number of the next issue created.
    pub next_issue: AtomicU64,
    /// Every request, in the order received.
    pub received: Mutex<Vec<Received>>,
}

impl Fake {
    fn receive(&self, method: &'static str, uri: &Uri, headers: &HeaderMap, body: Value) {
        let (path, query) = (uri.path().to_owned(), uri.query().map(str::to_owned));
        self.received.lock().unwrap().push(Received { method, path, query, headers: headers.clone(), body });
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// `(method, path)` of every request so far.
    pub fn calls(&self) -> Vec<(&'static str, String)> {
        self.received().into_iter().map(|r| (r.method, r.path)).collect()
    }
}

/// An issue as GitHub's API sends it.
pub fn issue(number: u64, title: &str, state: &str) -> Value {
    json!({ "number": number, "title": title, "state": state,
            "html_url": format!("https://github.com/octo/hello/issues/{number}") })
}

/// Open issues as GitHub lists them, newest first: a pull request (which the tool skips), then
/// issues #42 and #17.
pub fn issues() -> Vec<Value> {
    let mut pull = issue(50, "Add a logo", "open");
    pull["pull_request"] = json!({ "url": "https://api.github.com/repos/octo/hello/pulls/50" });
    vec![pull, issue(42, "Crash on empty input", "open"), issue(17, "Typo in README", "open")]
}

type Shared = State<Arc<Fake>>;

async fn list_issues(State(fake): Shared, uri: Uri, headers: HeaderMap) -> Response {
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

/// `POST /repos/{owner}/{repo}/issues`: `201 Created` with the next number.
async fn create_issue(
    State(fake): Shared,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.receive("POST", &uri, &headers, body.clone());
    let number = 100 + fake.next_issue.fetch_add(1, Ordering::SeqCst);
    (StatusCode::CREATED, Json(issue(number, body["title"].as_str().unwrap_or(""), "open"))).into_response()
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments`: `201 Created`.
async fn comment(
    State(fake): Shared,
    Path((_, _, number)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.receive("POST", &uri, &headers, body.clone());
    let url = format!("https://github.com/octo/hello/issues/{number}#issuecomment-1");
    (StatusCode::CREATED, Json(json!({ "id": 1, "html_url": url, "body": body["body"] }))).into_response()
}

/// `PATCH /repos/{owner}/{repo}/issues/{number}`: the issue with the state sent.
async fn update_issue(
    State(fake): Shared,
    Path((_, _, number)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.receive("PATCH", &uri, &headers, body.clone());
    let state = body["state"].as_str().unwrap_or("open");
    let mut issue = issue(number, "Approve the release", state);
    issue["state_reason"] = body["state_reason"].clone();
    Json(issue).into_response()
}

async fn create_pull(
    State(fake): Shared,
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

/// `GET /search/issues?q=…`: the pull requests when the query has `is:pr`, else the issues.
async fn search_issues(
    State(fake): Shared,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Json<Value> {
    fake.receive("GET", &uri, &headers, Value::Null);
    let q = query.get("q").cloned().unwrap_or_default();
    let items = if q.contains("is:pr") { &fake.found_pulls } else { &fake.found_issues };
    Json(json!({ "total_count": items.len(), "incomplete_results": false, "items": items }))
}

/// `GET /search/repositories?q=…`.
async fn search_repositories(State(fake): Shared, uri: Uri, headers: HeaderMap) -> Json<Value> {
    fake.receive("GET", &uri, &headers, Value::Null);
    let items = &fake.found_repos;
    Json(json!({ "total_count": items.len(), "incomplete_results": false, "items": items }))
}

/// `POST /api/chat.postMessage`: `"ok": true`, or `"ok": false` with the error asked for.
async fn post_message(
    State(fake): Shared,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    fake.receive("POST", &uri, &headers, body.clone());
    let posted =
        fake.received.lock().unwrap().iter().filter(|r| r.path.ends_with("chat.postMessage")).count();
    match fake.slack_error {
        Some(error) => Json(json!({ "ok": false, "error": error })),
        None => Json(
            json!({ "ok": true, "channel": "C024BE91L", "ts": format!("1700000000.00010{posted}"), "message": body }),
        ),
    }
}

/// `POST /api/reactions.add`: `"ok": true`.
async fn add_reaction(
    State(fake): Shared,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    fake.receive("POST", &uri, &headers, body);
    Json(json!({ "ok": true }))
}

/// `GET /store/{name}`: the document, or 404.
async fn get_document(
    State(fake): Shared,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.receive("GET", &uri, &headers, Value::Null);
    match fake.documents.lock().unwrap().get(&name) {
        Some(document) => Json(document.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({ "message": "Not Found" }))).into_response(),
    }
}

/// `PUT /store/{name}`: stores the document; `201 Created`, or `204 No Content` when it replaced one.
async fn put_document(
    State(fake): Shared,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    fake.receive("PUT", &uri, &headers, body.clone());
    match fake.documents.lock().unwrap().insert(name, body) {
        Some(_) => StatusCode::NO_CONTENT,
        None => StatusCode::CREATED,
    }
}

/// Serves `fake` on a free local port; returns it, its base URL and services pointed at it.
pub async fn serve(fake: Fake) -> (Arc<Fake>, String, Services) {
    let fake = Arc::new(fake);
    let app = Router::new()
        .route("/repos/{owner}/{repo}/issues", get(list_issues).post(create_issue))
        .route("/repos/{owner}/{repo}/issues/{number}", patch(update_issue))
        .route("/repos/{owner}/{repo}/issues/{number}/comments", post(comment))
        .route("/repos/{owner}/{repo}/pulls", post(create_pull))
        .route("/search/issues", get(search_issues))
        .route("/search/repositories", get(search_repositories))
        .route("/api/chat.postMessage", post(post_message))
        .route("/api/reactions.add", post(add_reaction))
        .route("/store/{name}", get(get_document).put(put_document))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = Config {
        github_url: format!("{url}/"),
        github_token: "ghp_test".into(),
        slack_url: format!("{url}/api"),
        slack_token: "xoxb-test".into(),
        http_allow: vec![format!("{url}/store/")],
        ..Config::default()
    };
    let client = workflow_library::http_client(&config).no_proxy().build().unwrap();
    (fake, url, Services::with_client(&config, client))
}
