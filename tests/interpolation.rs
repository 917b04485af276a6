//! Text interpolation is the same on both sides: a `"…<<x>>…"` string in a compiled workflow
//! gives the text the run-time engine gives for the same template (`WorkflowTemplate` run by the
//! `WorkflowExecutor`): a value's JSON text, strings without quotes, `null` as nothing.

use serde_json::{Value, json};
use workflow::prelude::*;
use workflow::{WorkflowExecutor, WorkflowTemplate};

#[derive(ToolOutput, Serialize, Deserialize, Clone)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
    pub ratio: f64,
}

/// A JSON document.
#[tool]
async fn document() -> Result<Value, ToolError> {
    Ok(json!({ "user": { "name": "Mia", "tags": ["a", "b"] }, "score": 1.0, "none": null }))
}

/// A pull request.
#[tool]
async fn pull_request() -> Result<PullRequest, ToolError> {
    Ok(PullRequest { url: "https://example.com/pulls/1".into(), number: 1, ratio: 0.5 })
}

/// A float.
#[tool]
async fn ratio() -> Result<f64, ToolError> {
    Ok(1.0)
}

/// A bool.
#[tool]
async fn flag() -> Result<bool, ToolError> {
    Ok(true)
}

/// A string.
#[tool]
async fn name() -> Result<String, ToolError> {
    Ok("Mia \"M\" <mia@example.com>".into())
}

/// Nothing.
#[tool]
async fn nothing() -> Result<Option<String>, ToolError> {
    Ok(None)
}

/// Returns the text.
#[tool]
async fn echo(text: String) -> Result<String, ToolError> {
    Ok(text)
}

workflow! {
    texts() {
        doc = document();
        pr = pull_request();
        r = ratio();
        f = flag();
        n = name();
        none = nothing();
        whole = echo(text: "doc=<<doc>>; pr=<<pr>>; ratio=<<r>>; flag=<<f>>; name=<<n>>; none=<<none>>;");
        parts = echo(text: "user=<<doc[\"user\"]>>; tags=<<doc[\"user\"][\"tags\"]>>; score=<<doc[\"score\"]>>; null=<<doc[\"none\"]>>; url=<<pr.url>>; number=<<pr.number>>; pr_ratio=<<pr.ratio>>");
    }
}

fn registry() -> ToolRegistry {
    let mut tools = ToolRegistry::new(());
    tools
        .register::<document>()
        .unwrap()
        .register::<pull_request>()
        .unwrap()
        .register::<ratio>()
        .unwrap()
        .register::<flag>()
        .unwrap()
        .register::<name>()
        .unwrap()
        .register::<nothing>()
        .unwrap()
        .register::<echo>()
        .unwrap();
    tools
}

#[tokio::test]
async fn interpolation_gives_the_text_the_run_time_engine_gives() {
    let compiled = texts().run(&()).await.unwrap();
    let template: WorkflowTemplate = texts::template();
    let run = WorkflowExecutor::new().execute(&template, &registry(), json!({})).await.unwrap();
    for (step, text) in [("whole", &compiled.whole), ("parts", &compiled.parts)] {
        assert_eq!(run.context.get_result(step), Some(&Value::String(text.clone())), "step `{step}`");
    }
    assert_eq!(
        compiled.whole,
        r#"doc={"user":{"name":"Mia","tags":["a","b"]},"score":1.0,"none":null}; pr={"url":"https://example.com/pulls/1","number":1,"ratio":0.5}; ratio=1.0; flag=true; name=Mia "M" <mia@example.com>; none=;"#
    );
    assert_eq!(
        compiled.parts,
        r#"user={"name":"Mia","tags":["a","b"]}; tags=["a","b"]; score=1.0; null=; url=https://example.com/pulls/1; number=1; pr_ratio=0.5"#
    );
}
