// A step that runs after another failed cannot read that step's output: there is none.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        alert = send_message(channel: "#ops", message: "PR <<pr.url>> failed") after pr failed;
    }
}
fn main() {}
