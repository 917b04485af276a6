//! Open a pull request for the newest open issue of a GitHub repository, then announce it on Slack.
//!
//! ```text
//! GITHUB_TOKEN=… SLACK_TOKEN=xoxb-… GITHUB_REPO=owner/name PR_HEAD=my-branch \
//!     cargo run --example github_pr
//! ```
//!
//! Optional: `PR_BASE` (default `main`), `PR_TITLE`, `SLACK_CHANNEL` (default `#dev`),
//! `GITHUB_API_URL` (default `https://api.github.com`), `SLACK_API_URL` (default
//! `https://slack.com/api`). The tools and the workflow are `workflow-library`'s, tested there
//! against a local server that answers as both APIs document.

use std::env;

use workflow_library::workflows::github_pr;
use workflow_library::{Config, Services};

/// What to set, printed when a required variable is missing.
const USAGE: &str = "\
This example opens a real pull request and posts a real Slack message. Set:
  GITHUB_TOKEN   a GitHub token that can read issues and open pull requests
  SLACK_TOKEN    a Slack bot token (xoxb-…) that can post to the channel
  GITHUB_REPO    the repository, as owner/name
  PR_HEAD        the branch to open the pull request from
and optionally PR_BASE (main), PR_TITLE, SLACK_CHANNEL (#dev),
GITHUB_API_URL (https://api.github.com) and SLACK_API_URL (https://slack.com/api).";

/// Reads the settings from the environment, runs the workflow, and reports each step.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let required = ["GITHUB_TOKEN", "SLACK_TOKEN", "GITHUB_REPO", "PR_HEAD"];
    let [Ok(github_token), Ok(slack_token), Ok(repo), Ok(head)] = required.map(env::var) else {
        let missing: Vec<_> = required.into_iter().filter(|name| env::var(name).is_err()).collect();
        println!("Not set: {}.\n\n{USAGE}", missing.join(", "));
        return Ok(());
    };
    let var = |name: &str, default: &str| env::var(name).unwrap_or_else(|_| default.to_owned());
    let services = Services::new(&Config { github_token, slack_token, ..Config::from_env() })?;

    let workflow = github_pr(
        repo,
        head.clone(),
        var("PR_BASE", "main"),
        var("PR_TITLE", &format!("Merge {head}")),
        var("SLACK_CHANNEL", "#dev"),
    );
    let result = workflow.run(&services).await;

    let record = match &result {
        Ok(run) => &run.record,
        Err(err) => &err.record,
    };
    for step in &record.steps {
        let took = step.duration().unwrap_or_default();
        println!(
            "{:<12} {:?} after {} attempt(s) in {took:.1?}",
            step.step,
            step.status,
            step.attempts.len()
        );
    }
    match result {
        Ok(run) => println!(
            "Opened {} and posted it to {} (ts {})",
            run.create_pr.url, run.notify.channel, run.notify.ts
        ),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    }
    Ok(())
}
