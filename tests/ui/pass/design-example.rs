// The example of DESIGN.md, as written there, compiles: inputs, references into nested outputs
// and lists, interpolation, `retry … backoff … timeout`, `depends`, `if`, `on_error skip`.
use workflow::prelude::*;

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Issue {
    pub number: u64,
    pub title: String,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct IssueList {
    pub issues: Vec<Issue>,
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
}

/// List the open issues of a repository.
#[tool]
pub async fn github_list_issues(repo: String) -> Result<IssueList, ToolError> {
    let _ = repo;
    Ok(IssueList { issues: vec![Issue { number: 7, title: "Bug".into() }] })
}

/// Open a pull request.
#[tool]
pub async fn github_create_pr(repo: String, title: String, body: String) -> Result<PullRequest, ToolError> {
    let _ = (repo, title, body);
    Ok(PullRequest { url: "https://example.com/pr/1".into(), number: 1 })
}

/// Send a message to a Slack channel.
#[tool]
pub async fn slack_send_message(channel: String, message: String) -> Result<bool, ToolError> {
    let _ = (channel, message);
    Ok(true)
}

workflow! {
    /// Create a PR for the first open issue and tell the team.
    pub github_pr(repo: String, pr_title: String) {
        list_issues = github_list_issues(repo: <<repo>>);
        create_pr   = github_create_pr(
                          repo: <<repo>>,
                          title: <<pr_title>>,
                          body: "Fixes #<<list_issues.issues[0].number>>",
                      ) retry 3 backoff 2s timeout 30s;
        notify      = slack_send_message(channel: "#dev", message: "PR created: <<create_pr.url>>")
                      depends create_pr
                      if <<create_pr.number>> > 0
                      on_error skip;
    }
}

fn main() {
    let _: fn(String, String) -> github_pr = github_pr;
    assert_eq!(github_pr::LEVELS, &[&["list_issues"][..], &["create_pr"], &["notify"]]);
}
