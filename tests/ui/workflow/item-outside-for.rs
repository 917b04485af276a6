// The loop variable of one step read in another, and in its own step's condition.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        notes = send_message(channel: "#dev", message: <<issue.title>>) for issue in <<issues.issues>>;
        other = send_message(channel: "#dev", message: <<issue.title>>);
        checked = send_message(channel: "#dev", message: <<it.title>>) if <<it.number>> > 0 for it in <<issues.issues>>;
    }
}
fn main() {}
