//! Built-in workflows and tools for [`workflow`](https://docs.rs/workflow): the GitHub pull
//! request, the Slack notification chain, the data pipeline, the approval and the search &
//! report, each a compiled `workflow!` ([`workflows`]) and the same workflow as a template in a
//! [`WorkflowLibrary`] ([`library`]); with tools written against GitHub's REST API, Slack's Web
//! API, plain HTTP and local files, every base URL configurable ([`Config`]).
//!
//! ```no_run
//! use workflow::RunContext;
//! use workflow_library::{Config, Services, workflows::github_pr};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let services = Services::new(&Config::from_env())?;
//! let done = github_pr("owner/repo".into(), "fix-42".into(), "main".into(), "Fix #42".into(), "#dev".into())
//!     .run(RunContext::new(&services))
//!     .await?;
//! println!("opened {}", done.create_pr.url);
//! # Ok(()) }
//! ```
//!
//! The same workflows run from their templates through [`registry`], which holds every tool
//! here under its name:
//!
//! ```no_run
//! use workflow::WorkflowExecutor;
//! use workflow_library::{Config, Services, library, registry};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tools = registry(Services::new(&Config::from_env())?);
//! let library = library();
//! let template = &library.get("github_pr").expect("built in").template;
//! let inputs = serde_json::json!({ "repo": "owner/repo", "head": "fix-42", "base": "main",
//!                                  "title": "Fix #42", "channel": "#dev" });
//! let run = WorkflowExecutor::new().execute(template, &tools, inputs).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod files;
pub mod github;
pub mod slack;
pub mod text;
pub mod web;
pub mod workflows;

use std::path::PathBuf;
use std::time::Duration;

use workflow::library::WorkflowLibrary;
use workflow::prelude::*;
use workflow::{DuplicateTool, ToolRegistry, WorkflowTemplate};

pub use api::ApiError;
use files::Files;
use github::GitHub;
use slack::Slack;
use web::Http;

/// Where the tools' APIs are, and the credentials they send.
#[derive(Clone, Debug)]
pub struct Config {
    /// GitHub's REST API: `https://api.github.com` by default.
    pub github_url: String,
    /// A GitHub token (empty: none is sent, and GitHub allows only public reads).
    pub github_token: String,
    /// Slack's Web API: `https://slack.com/api` by default.
    pub slack_url: String,
    /// A Slack bot token (`xoxb-…`).
    pub slack_token: String,
    /// The URL prefixes the plain HTTP tools may call; empty allows any `http(s)` URL.
    pub http_allow: Vec<String>,
    /// The directory the file tools read and write under: the current one by default.
    pub files_root: PathBuf,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            github_url: "https://api.github.com".to_owned(),
            github_token: String::new(),
            slack_url: "https://slack.com/api".to_owned(),
            slack_token: String::new(),
            http_allow: Vec::new(),
            files_root: PathBuf::from("."),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// The defaults, with what the environment sets: `GITHUB_API_URL`, `GITHUB_TOKEN`,
    /// `SLACK_API_URL`, `SLACK_TOKEN`, `WORKFLOW_HTTP_ALLOW` (prefixes separated by commas) and
    /// `WORKFLOW_FILES_ROOT`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let defaults = Config::default();
        Config {
            github_url: var("GITHUB_API_URL").unwrap_or(defaults.github_url),
            github_token: var("GITHUB_TOKEN").unwrap_or_default(),
            slack_url: var("SLACK_API_URL").unwrap_or(defaults.slack_url),
            slack_token: var("SLACK_TOKEN").unwrap_or_default(),
            http_allow: var("WORKFLOW_HTTP_ALLOW")
                .map(|v| v.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            files_root: var("WORKFLOW_FILES_ROOT").map_or(defaults.files_root, PathBuf::from),
            request_timeout: defaults.request_timeout,
        }
    }
}

/// The tools' shared state: each tool takes the part it needs (`State<GitHub>`, `State<Slack>`,
/// `State<Http>`, `State<Files>`).
#[derive(Clone, Debug)]
pub struct Services {
    /// GitHub's API.
    pub github: GitHub,
    /// Slack's API.
    pub slack: Slack,
    /// Plain HTTP.
    pub http: Http,
    /// Local files.
    pub files: Files,
}

impl Services {
    /// Every service as `config` says, sharing one HTTP client made by [`http_client`].
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        Ok(Self::with_client(config, http_client(config).build()?))
    }

    /// Every service as `config` says, sharing `client` (its own proxy, TLS and timeout
    /// settings; `config.request_timeout` is not applied to it).
    pub fn with_client(config: &Config, client: reqwest::Client) -> Self {
        Services {
            github: GitHub::new(client.clone(), &config.github_url, &config.github_token),
            slack: Slack::new(client.clone(), &config.slack_url, &config.slack_token),
            http: Http { http: client, allow: config.http_allow.clone() },
            files: Files { root: config.files_root.clone() },
        }
    }
}

/// An HTTP client for the tools: with a user agent (GitHub requires one) and `config`'s
/// request timeout.
pub fn http_client(config: &Config) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("workflow-library/", env!("CARGO_PKG_VERSION")))
        .timeout(config.request_timeout)
}

macro_rules! part {
    ($($part:ident: $ty:ty),*) => {$(
        impl FromRef<Services> for $ty {
            fn from_ref(services: &Services) -> Self {
                services.$part.clone()
            }
        }
    )*};
}
part!(github: GitHub, slack: Slack, http: Http, files: Files);

/// Every tool of this crate, and the durable waits (`wait_for_signal`, `sleep_for`), in a
/// registry over `services`: what run-time workflows call.
#[allow(clippy::expect_used)] // Not input-dependent: the names are this crate's own, and a test registers them.
pub fn registry(services: Services) -> ToolRegistry<Services> {
    let mut registry = ToolRegistry::new(services);
    add_tools(&mut registry).expect("the built-in tools have distinct names");
    registry
}

/// Adds every tool of this crate to `registry`; fails on a name it has already.
pub fn add_tools<S>(registry: &mut ToolRegistry<S>) -> Result<(), DuplicateTool>
where
    S: Send + Sync + 'static,
    GitHub: FromRef<S>,
    Slack: FromRef<S>,
    Http: FromRef<S>,
    Files: FromRef<S>,
{
    registry
        .register::<github::github_list_issues>()?
        .register::<github::github_create_pr>()?
        .register::<github::github_create_issue>()?
        .register::<github::github_close_issue>()?
        .register::<github::github_search_issues>()?
        .register::<github::github_search_repositories>()?
        .register::<slack::slack_send_message>()?
        .register::<slack::slack_reply>()?
        .register::<slack::slack_add_reaction>()?
        .register::<web::http_get_json>()?
        .register::<web::http_put_json>()?
        .register::<files::file_read>()?
        .register::<files::file_read_json>()?
        .register::<files::file_write>()?
        .register::<text::select_fields>()?
        .register::<text::collect_hits>()?
        .register::<text::format_report>()?
        .register::<text::markdown_table>()?
        .register::<text::read_decision>()?
        .register::<workflow::durable::wait_for_signal>()?
        .register::<workflow::durable::sleep_for>()?;
    Ok(())
}

/// The built-in workflows' templates, each with its `category` in its metadata.
pub fn templates() -> Vec<WorkflowTemplate> {
    let mut all = [
        (workflows::github_pr::template(), "github"),
        (workflows::slack_notification_chain::template(), "slack"),
        (workflows::data_pipeline::template(), "data"),
        (workflows::approval::template(), "approval"),
        (workflows::search_report::template(), "search"),
        (workflows::file_report::template(), "data"),
    ];
    for (template, category) in &mut all {
        template.metadata.insert("category".to_owned(), (*category).into());
    }
    all.into_iter().map(|(template, _)| template).collect()
}

/// A library holding the built-in workflows, to which a program adds its own.
pub fn library() -> WorkflowLibrary {
    let mut library = WorkflowLibrary::new();
    for template in templates() {
        // Built-in templates are valid and distinctly named (the tests check it).
        let _ = library.register(template);
    }
    library
}
