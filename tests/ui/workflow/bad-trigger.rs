// `after X` takes `failed` or `always`.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        alert = send_message(channel: "#ops", message: "x") after issues succeeded;
    }
}
fn main() {}
