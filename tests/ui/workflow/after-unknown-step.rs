// `after` naming a step that does not exist: the error must underline the name and suggest the
// step meant.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        alert = send_message(channel: "#ops", message: "listing failed") after isues failed;
    }
}
fn main() {}
