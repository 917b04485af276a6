// A `u64` output passed where the tool takes a `String`: the error must underline the reference.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notify = send_message(channel: "#dev", message: <<pr.number>>);
    }
}
fn main() {}
