//! Tools for GitHub's REST API (`https://docs.github.com/en/rest`): issues, pull requests, search.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use workflow::prelude::*;

use crate::api::{ApiError, base, check};

/// How to reach GitHub's REST API.
#[derive(Clone, Debug)]
pub struct GitHub {
    /// The HTTP client (clones share one connection pool).
    pub http: reqwest::Client,
    /// `https://api.github.com`, a GitHub Enterprise URL (`https://host/api/v3`), or a test server.
    pub base_url: String,
    /// A token allowed to read issues, open pull requests and search.
    pub token: String,
}

impl GitHub {
    /// GitHub's API at `base_url` with `token`.
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        Self { http, base_url: base(base_url), token: token.to_owned() }
    }

    /// A request to `path` with GitHub's authentication and API version headers.
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    /// Sends a request and reads its JSON answer.
    async fn send<T: serde::de::DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        Ok(check("GitHub", request.send().await?).await?.json().await?)
    }
}

/// `owner/name`, checked so that it cannot reach another endpoint.
fn repo_path(repo: &str) -> Result<&str, ApiError> {
    match repo.split_once('/') {
        Some((owner, name))
            if !owner.is_empty()
                && !name.is_empty()
                && !repo.contains(['?', '#', ' '])
                && !name.contains('/')
                && owner != ".."
                && name != ".." =>
        {
            Ok(repo)
        }
        _ => Err(ApiError::Invalid(format!("expected a repository as `owner/name`, found `{repo}`"))),
    }
}

/// An issue.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Issue {
    /// The issue's number, as in `#42`.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its page on GitHub.
    pub url: String,
    /// `open` or `closed`.
    pub state: String,
}

/// GitHub's JSON for an issue, as its API sends it.
#[derive(Deserialize)]
struct IssueJson {
    number: u64,
    title: String,
    html_url: String,
    state: String,
    // GitHub lists pull requests as issues too, with this key.
    pull_request: Option<Value>,
}

impl From<IssueJson> for Issue {
    fn from(item: IssueJson) -> Self {
        Issue { number: item.number, title: item.title, url: item.html_url, state: item.state }
    }
}

/// A repository's open issues.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issues {
    /// Newest first, as GitHub lists them.
    pub issues: Vec<Issue>,
}

/// List the open issues of a GitHub repository (`owner/name`), newest first, without pull requests.
#[tool(read_only = true)]
pub async fn github_list_issues(State(github): State<GitHub>, repo: String) -> Result<Issues, ApiError> {
    let path = format!("/repos/{}/issues?state=open", repo_path(&repo)?);
    let items: Vec<IssueJson> = github.send(github.request(Method::GET, &path)).await?;
    let issues = items.into_iter().filter(|item| item.pull_request.is_none()).map(Issue::from).collect();
    Ok(Issues { issues })
}

/// A pull request.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct PullRequest {
    /// Its number, as in `#43`.
    pub number: u64,
    /// Its page on GitHub.
    pub url: String,
}

/// Open a pull request on a GitHub repository (`owner/name`) to merge branch `head` into `base`.
// Idempotent: GitHub refuses a second pull request for the same `head` and `base`.
#[tool]
pub async fn github_create_pr(
    State(github): State<GitHub>,
    repo: String,
    title: String,
    head: String,
    base: String,
    body: String,
) -> Result<PullRequest, ApiError> {
    #[derive(Deserialize)]
    struct Created {
        number: u64,
        html_url: String,
    }
    let path = format!("/repos/{}/pulls", repo_path(&repo)?);
    let request = json!({ "title": title, "head": head, "base": base, "body": body });
    let created: Created = github.send(github.request(Method::POST, &path).json(&request)).await?;
    Ok(PullRequest { number: created.number, url: created.html_url })
}

/// Open an issue on a GitHub repository (`owner/name`).
#[tool(idempotent = false)]
pub async fn github_create_issue(
    State(github): State<GitHub>,
    repo: String,
    title: String,
    body: String,
) -> Result<Issue, ApiError> {
    let path = format!("/repos/{}/issues", repo_path(&repo)?);
    let request = json!({ "title": title, "body": body });
    let created: IssueJson = github.send(github.request(Method::POST, &path).json(&request)).await?;
    Ok(created.into())
}

/// Comment on a GitHub issue, then close it: as completed, or as not planned when
/// `completed` is false.
#[tool]
pub async fn github_close_issue(
    State(github): State<GitHub>,
    repo: String,
    number: u64,
    comment: String,
    completed: bool,
) -> Result<Issue, ApiError> {
    let repo = repo_path(&repo)?;
    let comments = format!("/repos/{repo}/issues/{number}/comments");
    let _: Value =
        github.send(github.request(Method::POST, &comments).json(&json!({ "body": comment }))).await?;
    let reason = if completed { "completed" } else { "not_planned" };
    let update = json!({ "state": "closed", "state_reason": reason });
    let path = format!("/repos/{repo}/issues/{number}");
    let closed: IssueJson = github.send(github.request(Method::PATCH, &path).json(&update)).await?;
    Ok(closed.into())
}

/// One result of a search.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Hit {
    /// An issue's or pull request's title, or a repository's `owner/name`.
    pub title: String,
    /// Its page on GitHub.
    pub url: String,
}

/// What a search found.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct SearchResults {
    /// How many results GitHub has in all (it sends the first page).
    pub total_count: u64,
    /// The first page of results, best match first.
    pub items: Vec<Hit>,
}

/// Search GitHub's issues and pull requests with GitHub's search syntax (`is:pr repo:owner/name …`).
#[tool(read_only = true)]
pub async fn github_search_issues(
    State(github): State<GitHub>,
    query: String,
) -> Result<SearchResults, ApiError> {
    #[derive(Deserialize)]
    struct Found {
        total_count: u64,
        items: Vec<IssueJson>,
    }
    let request = github.request(Method::GET, "/search/issues").query(&[("q", query.as_str())]);
    let found: Found = github.send(request).await?;
    let items = found.items.into_iter().map(|i| Hit { title: i.title, url: i.html_url }).collect();
    Ok(SearchResults { total_count: found.total_count, items })
}

/// Search GitHub's repositories with GitHub's search syntax (`language:rust stars:>100 …`).
#[tool(read_only = true)]
pub async fn github_search_repositories(
    State(github): State<GitHub>,
    query: String,
) -> Result<SearchResults, ApiError> {
    #[derive(Deserialize)]
    struct Repository {
        full_name: String,
        html_url: String,
    }
    #[derive(Deserialize)]
    struct Found {
        total_count: u64,
        items: Vec<Repository>,
    }
    let request = github.request(Method::GET, "/search/repositories").query(&[("q", query.as_str())]);
    let found: Found = github.send(request).await?;
    let items = found.items.into_iter().map(|r| Hit { title: r.full_name, url: r.html_url }).collect();
    Ok(SearchResults { total_count: found.total_count, items })
}
