//! The tools the `workflow!` compile-fail cases call.
#![allow(dead_code)]

use workflow::prelude::*;

#[derive(ToolOutput, Serialize, Deserialize, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone)]
pub struct Issues {
    pub issues: Vec<Issue>,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
}

/// List open issues.
#[tool]
pub async fn list_issues(repo: String) -> Result<Issues, ToolError> {
    let _ = repo;
    Ok(Issues { issues: Vec::new() })
}

/// Open a pull request.
#[tool]
pub async fn create_pr(repo: String, title: String, body: String) -> Result<PullRequest, ToolError> {
    let _ = (repo, title, body);
    Ok(PullRequest { url: String::new(), number: 1 })
}

/// Send a chat message.
#[tool]
pub async fn send_message(channel: String, message: String) -> Result<bool, ToolError> {
    let _ = (channel, message);
    Ok(true)
}

/// Search the issues.
#[tool]
pub async fn search_issues(query: String, limit: u32) -> Result<Issues, ToolError> {
    let _ = (query, limit);
    Ok(Issues { issues: Vec::new() })
}
