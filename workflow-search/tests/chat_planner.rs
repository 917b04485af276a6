//! `ChatPlanner` against a local server that answers as OpenAI's chat completions API documents.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use workflow_search::{ChatPlanner, PlanError, ToolDoc, ToolIndex, build_workflow_from_description};

/// What the fake answers, and the requests it received.
struct Fake {
    status: StatusCode,
    content: String,
    received: Mutex<Vec<(HeaderMap, Value)>>,
}

async fn completions(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    fake.received.lock().unwrap().push((headers, body));
    if fake.status != StatusCode::OK {
        return (
            fake.status,
            Json(json!({ "error": { "message": "Rate limit reached", "type": "requests" } })),
        );
    }
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{ "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": fake.content } }],
        "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 }
    });
    (StatusCode::OK, Json(answer))
}

async fn serve(status: StatusCode, content: &str) -> (Arc<Fake>, ChatPlanner) {
    let fake = Arc::new(Fake { status, content: content.to_owned(), received: Mutex::new(Vec::new()) });
    let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    (fake, ChatPlanner::with_client(http, &url, "test-model").api_key("sk-test"))
}

fn tools() -> ToolIndex {
    ToolIndex::new([
        ToolDoc::new("search_location", "Find a city's location id for hotels", ["query"])
            .with_outputs(["geoId"]),
        ToolDoc::new("search_hotels", "Find hotels near a location", ["geoId", "checkIn"]),
        ToolDoc::new("send_email", "Send an email", ["to", "body"]),
    ])
}

const PLAN: &str = r#"```json
{"name": "whatever", "steps": [
  {"step_id": "where", "tool_name": "search_location", "parameters": {"query": "London"}},
  {"step_id": "hotels", "tool_name": "search_hotels", "parameters": {"geoId": "{{where.geoId}}", "checkIn": "{{day}}"}}
]}
```"#;

#[tokio::test]
async fn the_models_workflow_is_checked_and_returned_with_its_text() {
    let (fake, planner) = serve(StatusCode::OK, PLAN).await;
    let planned =
        build_workflow_from_description("stay", "find hotels in London", &tools(), &planner).await.unwrap();
    assert_eq!(planned.template.name, "stay");
    assert_eq!(planned.template.steps[1].parameters["geoId"], "{{where.geoId}}");
    assert_eq!(
        planned.dsl.as_deref(),
        Some(
            "/// find hotels in London\nstay() {\n    where = search_location(query: \"London\");\n    hotels = search_hotels(geoId: <<where.geoId>>, checkIn: <<day>>);\n}\n"
        )
    );

    let received = fake.received.lock().unwrap();
    let (headers, body) = &received[0];
    assert_eq!(headers["authorization"], "Bearer sk-test");
    assert_eq!((body["model"].as_str(), body["temperature"].as_i64()), (Some("test-model"), Some(0)));
    assert_eq!(body["messages"][1], json!({ "role": "user", "content": "find hotels in London" }));
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("\"search_hotels\"") && system.contains("\"geoId\""),
        "the tools found are shown: {system}"
    );
    assert!(!system.contains("send_email"), "a tool that matches nothing is not shown");
}

#[tokio::test]
async fn an_answer_that_is_not_a_valid_workflow_is_a_clear_error() {
    let cases = [
        ("not json at all", "the model's workflow is not a workflow"),
        (
            r#"{"name": "x", "steps": [{"step_id": "a", "tool_name": "delete_everything"}]}"#,
            "the model's step `a` calls `delete_everything`, which is not one of the tools it was shown",
        ),
        (
            r#"{"name": "x", "steps": [{"step_id": "a", "tool_name": "search_hotels", "parameters": {"geoId": "{{a.geoId}}"}}]}"#,
            "the model's workflow breaks the rules",
        ),
    ];
    for (content, expected) in cases {
        let (_, planner) = serve(StatusCode::OK, content).await;
        let err = build_workflow_from_description("x", "find hotels", &tools(), &planner).await.unwrap_err();
        assert!(
            matches!(err, PlanError::Planner(_)) && err.to_string().contains(expected),
            "{content}: {err}"
        );
    }
    let (_, planner) = serve(StatusCode::TOO_MANY_REQUESTS, "").await;
    let err = build_workflow_from_description("x", "find hotels", &tools(), &planner).await.unwrap_err();
    assert!(err.to_string().ends_with("answered 429 Too Many Requests: Rate limit reached"), "{err}");
    let err = build_workflow_from_description("x", "compose a sonnet", &tools(), &planner).await.unwrap_err();
    assert!(matches!(err, PlanError::NoTool(_)), "nothing to show the model: not asked");
}
