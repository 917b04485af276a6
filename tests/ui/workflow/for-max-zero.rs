// `max 0` would never call the tool.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        notes = send_message(channel: "#dev", message: <<issue.title>>) for issue in <<issues.issues>> max 0;
    }
}
fn main() {}
