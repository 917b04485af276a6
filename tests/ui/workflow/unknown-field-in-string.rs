// A misspelt field inside an interpolated string literal: the error must point at the literal.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notify = send_message(channel: "#dev", message: "PR: <<pr.urll>>");
    }
}
fn main() {}
