//! The built-in workflows, each a compiled `workflow!` whose [`template`](github_pr::template)
//! is the same workflow for run-time use (the CLI, the [`library`](crate::library)).

use workflow::durable::wait_for_signal;
use workflow::prelude::*;

use crate::files::{file_read_json, file_write};
use crate::github::{
    github_close_issue, github_create_issue, github_create_pr, github_list_issues, github_search_issues,
    github_search_repositories,
};
use crate::slack::{slack_add_reaction, slack_reply, slack_send_message};
use crate::text::{collect_hits, format_report, markdown_table, read_decision, select_fields};
use crate::web::{http_get_json, http_put_json};

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
           ;
    }
}

workflow! {
    /// Post a message to a Slack channel, then reply in its thread and mark it with a reaction.
    pub slack_notification_chain(channel: String, text: String, details: String, reaction: String) {
        post = slack_send_message(channel: <<channel>>, text: <<text>>);
        thread = slack_reply(channel: <<post.channel>>, thread_ts: <<post.ts>>, text: <<details>>)
           ;
        react = slack_add_reaction(channel: <<post.channel>>, timestamp: <<post.ts>>, name: <<reaction>>)
            retry 3 backoff 1s;
    }
}

workflow! {
    /// Fetch JSON records over HTTP, keep some of their fields, store the result with a PUT, and
    /// say on Slack how many were stored.
    pub data_pipeline(source_url: String, fields: Vec<String>, target_url: String, channel: String) {
        fetch = http_get_json(url: <<source_url>>) retry 3 backoff 200ms x2 timeout 30s;
        transform = select_fields(records: <<fetch.body>>, fields: <<fields>>);
        store = http_put_json(url: <<target_url>>, body: <<transform.records>>) retry 3 backoff 200ms timeout 30s;
        notify = slack_send_message(channel: <<channel>>, text: "Stored <<transform.count>> records at <<store.url>>")
           ;
    }
}

workflow! {
    /// Open an issue asking for an approval, ask the approver on Slack, wait for the run's
    /// `approval` signal (`{"approved": true|false, "by": "…"}`), and close the issue with the
    /// decision; without a decision in time, close it as not planned.
    pub approval(repo: String, title: String, body: String, approver: String, channel: String, timeout_secs: u64) {
        item = github_create_issue(repo: <<repo>>, title: <<title>>, body: <<body>>);
        ask = slack_send_message(channel: <<channel>>, text: "<<approver>>: please approve <<item.url>>")
           ;
        decision = wait_for_signal(name: "approval", timeout_secs: <<timeout_secs>>) depends ask on_error skip;
        verdict = read_decision(signal: <<decision>>);
        update = github_close_issue(
            repo: <<repo>>,
            number: <<item.number>>,
            comment: <<verdict.comment>>,
            completed: <<verdict.approved>>,
        ) retry 3 backoff 1s;
        expire = github_close_issue(
            repo: <<repo>>,
            number: <<item.number>>,
            comment: "No decision within <<timeout_secs>> s.",
            completed: false,
        ) after decision failed retry 3 backoff 1s;
    }
}

workflow! {
    /// Search GitHub's issues, pull requests and repositories at once, gather what they found
    /// into a Markdown report, and post it on Slack.
    pub search_report(query: String, channel: String) {
        issues = github_search_issues(query: "<<query>> is:issue") retry 3 backoff 1s;
        pulls = github_search_issues(query: "<<query>> is:pr") retry 3 backoff 1s;
        repos = github_search_repositories(query: <<query>>) retry 3 backoff 1s;
        found = collect_hits(issues: <<issues.items>>, pull_requests: <<pulls.items>>, repositories: <<repos.items>>);
        report = format_report(title: "GitHub: <<query>>", sections: <<found.sections>>);
        send = slack_send_message(channel: <<channel>>, text: <<report.text>>);
    }
}

workflow! {
    /// Read a JSON file of records, keep some of their fields, and write them as a Markdown
    /// table: the data pipeline on local files.
    pub file_report(source: String, fields: Vec<String>, title: String, out: String) {
        read = file_read_json(path: <<source>>);
        pick = select_fields(records: <<read.body>>, fields: <<fields>>);
        table = markdown_table(title: <<title>>, records: <<pick.records>>);
        write = file_write(path: <<out>>, text: <<table.text>>);
    }
}
