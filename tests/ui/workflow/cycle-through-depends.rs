// Two steps ordered after each other with `depends`: a cycle without any data reference.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) depends notify;
        notify = send_message(channel: "#dev", message: "hi") depends issues;
    }
}
fn main() {}
