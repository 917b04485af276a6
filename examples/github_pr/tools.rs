//! Tools for GitHub's REST API and Slack's Web API, and the `github_pr` workflow that chains them.
//!
//! Shared by the `github_pr` example (`main.rs` beside this file) and its test
//! (`tests/examples_github_pr.rs`), which points the base URLs at a local server.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::json;
use workflow::prelude::*;

/// How to reach GitHub's REST API.
#[derive(Clone)]
pub struct GitHub {
    /// The HTTP client (clones share one connection pool).
    pub http: reqwest::Client,
    /// `https://api.github.com`, a GitHub Enterprise URL, or a test server.
    pub base_url: String,
    /// A token allowed to read issues and open pull requests.
    pub token: String,
}

/// How to reach Slack's Web API.
#[derive(Clone)]
pub struct Slack {
    /// The HTTP client (clones share one connection pool).
    pub http: reqwest::Client,
    /// `https://slack.com/api`, or a test server.
    pub base_url: String,
    /// A bot token (`xoxb-…`) allowed to post messages.
    pub token: String,
}

/// The workflow's shared state: tools take the part they need as `State<GitHub>` or `State<Slack>`.
#[derive(Clone)]
pub struct Services {
    /// GitHub's API.
    pub github: GitHub,
    /// Slack's API.
    pub slack: Slack,
}

impl Services {
    /// Both APIs, sharing one HTTP client (see [`http_client`]).
    pub fn new(
        http: reqwest::Client,
        github_url: &str,
        github_token: &str,
        slack_url: &str,
        slack_token: &str,
    ) -> Self {
        let base = |url: &str| url.trim_end_matches('/').to_owned();
        Self {
            github: GitHub { http: http.clone(), base_url: base(github_url), token: github_token.to_owned() },
            slack: Slack { http, base_url: base(slack_url), token: slack_token.to_owned() },
        }
    }
}

/// An HTTP client for both APIs: with a user agent (GitHub requires one) and a time limit.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("workflow-github-pr-example/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
}

impl FromRef<Services> for GitHub {
    fn from_ref(services: &Services) -> Self {
        services.github.clone()
    }
}

impl FromRef<Services> for Slack {
    fn from_ref(services: &Services) -> Self {
        services.slack.clone()
    }
}

impl GitHub {
    /// A request to `path` with GitHub's authentication and API version headers.
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }
}

/// Why a call to GitHub or Slack failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request got no usable response: no connection, a timeout, a body that is not the
    /// expected JSON.
    Transport(reqwest::Error),
    /// The API answered with an error status.
    Status {
        /// `GitHub` or `Slack`.
        api: &'static str,
        /// The status.
        status: StatusCode,
        /// Whether the answer says a rate limit is exhausted.
        rate_limited: bool,
        /// The API's error message, or the body when it has none.
        message: String,
    },
    /// Slack answered `{"ok": false, "error": "…"}`.
    Slack(String),
    /// An argument cannot be sent as it is.
    Invalid(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport(err) => {
                // reqwest's own message leaves the cause (refused, timed out…) to its sources.
                write!(f, "request failed: {err}")?;
                let mut source = err.source();
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            ApiError::Status { api, status, message, .. } => write!(f, "{api} answered {status}: {message}"),
            ApiError::Slack(error) => write!(f, "Slack answered `{error}`"),
            ApiError::Invalid(message) => f.write_str(message),
        }
    }
}

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApiError::Transport(err) => Some(err),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ApiError {
    fn from(err: reqwest::Error) -> Self {
        ApiError::Transport(err)
    }
}

/// Rate limits, server errors and dropped connections are worth retrying; the rest is not.
impl From<ApiError> for ToolError {
    fn from(err: ApiError) -> Self {
        let retryable = match &err {
            ApiError::Transport(e) => !(e.is_builder() || e.is_decode()),
            ApiError::Status { status, rate_limited, .. } => {
                *rate_limited || *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            ApiError::Slack(error) => matches!(
                error.as_str(),
                "ratelimited" | "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout"
            ),
            ApiError::Invalid(_) => false,
        };
        let message = err.to_string();
        let error = if retryable { ToolError::retryable(message) } else { ToolError::permanent(message) };
        error.with_source(err)
    }
}

/// Passes a successful response on, and turns an error status into an [`ApiError`].
async fn check(api: &'static str, response: Response) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // GitHub reports an exhausted rate limit as 403 with `x-ratelimit-remaining: 0`.
    let rate_limited = response.headers().get("x-ratelimit-remaining").is_some_and(|v| v == "0");
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&body).map_or(body, |b| b.message);
    Err(ApiError::Status { api, status, rate_limited, message })
}

/// `owner/name`, checked so that it cannot reach another endpoint.
fn repo_path(repo: &str) -> Result<&str, ApiError> {
    match repo.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains(['/', '?', '#']) => {
            Ok(repo)
        }
        _ => Err(ApiError::Invalid(format!("expected a repository as `owner/name`, found `{repo}`"))),
    }
}

/// An open issue.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issue {
    /// The issue's number, as in `#42`.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its page on GitHub.
    pub url: String,
}

/// A repository's open issues.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issues {
    /// Newest first, as GitHub lists them.
    pub issues: Vec<Issue>,
}

/// List the open issues of a GitHub repository (`owner/name`), newest first, without pull requests.
#[tool]
pub async fn github_list_issues(State(github): State<GitHub>, repo: String) -> Result<Issues, ApiError> {
    #[derive(Deserialize)]
    struct Item {
        number: u64,
        title: String,
        html_url: String,
        // GitHub lists pull requests as issues too, with this key.
        pull_request: Option<serde_json::Value>,
    }
    let path = format!("/repos/{}/issues?state=open", repo_path(&repo)?);
    let response = github.request(Method::GET, &path).send().await?;
    let items: Vec<Item> = check("GitHub", response).await?.json().await?;
    let issues = items
        .into_iter()
        .filter(|item| item.pull_request.is_none())
        .map(|item| Issue { number: item.number, title: item.title, url: item.html_url })
        .collect();
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
    let response = github.request(Method::POST, &path).json(&request).send().await?;
    let created: Created = check("GitHub", response).await?.json().await?;
    Ok(PullRequest { number: created.number, url: created.html_url })
}

/// A message posted on Slack.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct SlackMessage {
    /// The id of the channel it was posted in.
    pub channel: String,
    /// Its timestamp, which is also its id in the channel.
    pub ts: String,
}

/// Post a message to a Slack channel (`#name` or a channel id).
#[tool]
pub async fn slack_send_message(
    State(slack): State<Slack>,
    channel: String,
    text: String,
) -> Result<SlackMessage, ApiError> {
    #[derive(Deserialize)]
    struct Reply {
        ok: bool,
        channel: Option<String>,
        ts: Option<String>,
        error: Option<String>,
    }
    let url = format!("{}/chat.postMessage", slack.base_url);
    let request = json!({ "channel": channel, "text": text });
    let response = slack.http.post(url).bearer_auth(&slack.token).json(&request).send().await?;
    // Slack answers most errors with 200 and `"ok": false`.
    match check("Slack", response).await?.json().await? {
        Reply { ok: true, channel: Some(channel), ts: Some(ts), .. } => Ok(SlackMessage { channel, ts }),
        Reply { error, .. } => Err(ApiError::Slack(error.unwrap_or_else(|| "unknown_error".to_owned()))),
    }
}

workflow! {
    /// Open a pull request that fixes the newest open issue, and tell the team on Slack.
    pub github_pr(repo: String, head: String, base: String, title: String, channel: String) {
        list_issues = github_list_issues(repo: <<repo>>) retry 3 backoff 100ms;
        create_pr = github_create_pr(
            repo: <<repo>>,
            title: <<title>>,
            head: <<head>>,
            base: <<base>>,
            body: "Fixes #<<list_issues.issues[0].number>>",
        ) retry 3 backoff 100ms timeout 60s;
        notify = slack_send_message(channel: <<channel>>, text: "PR created: <<create_pr.url>>")
            retry 3 backoff 100ms;
    }
}
