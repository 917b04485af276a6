//! `#[tool]` and `#[derive(ToolOutput)]`: names, descriptions, schemas, shared state, the registry.

use serde_json::json;
use workflow::prelude::*;
use workflow::{CallError, Tool};

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Author {
    pub login: String,
}

/// An issue of a repository.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Issue {
    pub number: u64,
    #[serde(rename = "headline")]
    pub title: String,
    pub author: Author,
    pub labels: Vec<String>,
    pub closed_by: Option<Author>,
}

#[derive(Clone)]
struct Github {
    base_url: String,
}

struct AppState {
    github: Github,
    greeting: String,
}

impl FromRef<AppState> for Github {
    fn from_ref(state: &AppState) -> Self {
        state.github.clone()
    }
}

impl FromRef<AppState> for String {
    fn from_ref(state: &AppState) -> Self {
        state.greeting.clone()
    }
}

/// Fetch one issue.
///
/// Returns the issue with its author.
#[tool(name = "github_get_issue")]
async fn get_issue(State(gh): State<Github>, repo: String, number: u64) -> Result<Issue, ToolError> {
    if number == 0 {
        return Err(ToolError::permanent(format!("{}/{repo} has no issue 0", gh.base_url)));
    }
    Ok(Issue {
        number,
        title: format!("{repo} on {}", gh.base_url),
        author: Author { login: "mia".into() },
        labels: vec!["bug".into()],
        closed_by: None,
    })
}

/// Greet someone.
#[tool(description = "Say hello to someone by name.")]
async fn greet(
    State(greeting): State<String>,
    name: String,
    excited: Option<bool>,
) -> Result<String, ToolError> {
    Ok(format!("{greeting}, {name}{}", if excited == Some(true) { "!" } else { "." }))
}

/// Divide, panicking on zero.
#[tool]
async fn divide(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a / b)
}

fn state() -> AppState {
    AppState { github: Github { base_url: "http://gh".into() }, greeting: "Hello".into() }
}

#[test]
fn name_and_description_come_from_the_attribute_or_the_doc_comment() {
    assert_eq!(get_issue::NAME, "github_get_issue");
    assert_eq!(get_issue::DESCRIPTION, "Fetch one issue.\n\nReturns the issue with its author.");
    assert_eq!(greet::DESCRIPTION, "Say hello to someone by name.");
    assert_eq!(divide::NAME, "divide");
}

#[test]
fn the_input_schema_has_the_model_facing_parameters_only() {
    let def = get_issue::definition();
    let schema = def.input_schema.to_value();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["repo", "number"]));
    assert_eq!(schema["properties"]["repo"]["type"], "string");
    assert_eq!(schema["properties"]["number"]["type"], "integer");
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["properties"].get("gh").is_none(), "state is not a parameter");
    let greet = greet::definition().input_schema.to_value();
    assert_eq!(greet["required"], json!(["name"]), "an Option parameter may be left out");
}

#[test]
fn the_output_schema_follows_serde_names_and_marks_options_optional() {
    let schema = Issue::output_schema().to_value();
    assert_eq!(schema["description"], "An issue of a repository.");
    assert_eq!(schema["required"], json!(["number", "headline", "author", "labels"]));
    assert_eq!(schema["properties"]["labels"]["items"]["type"], "string");
    let author = &schema["properties"]["author"]["$ref"];
    assert_eq!(author, "#/$defs/Author");
    assert_eq!(schema["$defs"]["Author"]["required"], json!(["login"]));
}

#[tokio::test]
async fn the_registry_calls_tools_by_name_with_json() {
    let mut tools = ToolRegistry::new(state());
    tools.register::<get_issue>().unwrap().register::<greet>().unwrap().register::<divide>().unwrap();
    let issue = tools.call("github_get_issue", json!({ "repo": "wf", "number": 7 })).await.unwrap();
    assert_eq!(issue["headline"], "wf on http://gh");
    assert_eq!(issue["author"]["login"], "mia");
    let hello = tools.call("greet", json!({ "name": "Ada", "excited": true })).await.unwrap();
    assert_eq!(hello, "Hello, Ada!");
    let names: Vec<&str> = tools.definitions().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["divide", "github_get_issue", "greet"]);
}

#[tokio::test]
async fn the_registry_reports_bad_calls_clearly() {
    let mut tools = ToolRegistry::new(state());
    tools.register::<get_issue>().unwrap().register::<divide>().unwrap();
    let unknown = tools.call("github_get_isue", json!({})).await.unwrap_err();
    assert_eq!(unknown.to_string(), "unknown tool `github_get_isue`; did you mean `github_get_issue`?");
    let bad = tools.call("github_get_issue", json!({ "repo": "wf", "number": "seven" })).await.unwrap_err();
    assert!(matches!(&bad, CallError::InvalidArguments { .. }), "{bad}");
    assert!(
        bad.to_string().starts_with("invalid arguments for tool `github_get_issue`: invalid type"),
        "{bad}"
    );
    let extra =
        tools.call("github_get_issue", json!({ "repo": "wf", "number": 1, "x": 1 })).await.unwrap_err();
    assert!(extra.to_string().contains("unknown field `x`"), "{extra}");
    let failed = tools.call("github_get_issue", json!({ "repo": "wf", "number": 0 })).await.unwrap_err();
    assert_eq!(failed.to_string(), "tool `github_get_issue` failed: http://gh/wf has no issue 0");
    let panicked = tools.call("divide", json!({ "a": 1, "b": 0 })).await.unwrap_err();
    assert!(matches!(panicked, CallError::Panicked { .. }));
    assert!(tools.register::<divide>().is_err(), "a second tool with the same name is refused");
}

workflow! {
    /// Greet the author of an issue.
    greet_author(repo: String, number: u64) {
        issue = get_issue(repo: <<repo>>, number: <<number>>);
        hello = greet(name: <<issue.author.login>>, excited: Some(<<issue.labels>>.contains(&"bug".to_string())));
    }
}

#[tokio::test]
async fn workflows_pass_shared_state_to_tools() {
    let run = greet_author("wf".into(), 3).run(&state()).await.unwrap();
    assert_eq!(run.hello, "Hello, mia!");
    assert_eq!(run.issue.number, 3);
    let debug = format!("{:?}", run.outputs);
    assert!(debug.starts_with("GreetAuthorOutputs { issue: {\"number\":3,"), "{debug}");
    assert_eq!(greet_author::STEPS[1].needs, ["issue"]);
    assert_eq!(greet_author::STEPS[0].tool, "github_get_issue");
    assert_eq!(greet_author::DESCRIPTION, "Greet the author of an issue.");
}
