// `depends` on a step that does not exist: the error must underline the name and suggest one.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notify = send_message(channel: "#dev", message: "done") depends pr_create;
    }
}
fn main() {}
