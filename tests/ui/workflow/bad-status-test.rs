// A condition testing how a step ended with a status that does not exist.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) on_error skip;
        alert = send_message(channel: "#ops", message: "no issues") if <<issues.$faild>>;
    }
}
fn main() {}
