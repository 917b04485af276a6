// A compensation that reads a step that does not exist, and one that reads a step its own step
// does not need (which may not have run when the compensation runs).
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        pr = create_pr(repo: <<repo>>, title: "t", body: "b")
             compensate send_message(channel: "#dev", message: <<pr_url.url>>);
        note = send_message(channel: "#dev", message: "done")
               compensate send_message(channel: "#dev", message: "undo <<issues.issues>>");
    }
}
fn main() {}
