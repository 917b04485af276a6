// Indexing a field that is not a list: the error must point at the index.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notify = send_message(channel: "#dev", message: <<pr.url[0]>>);
    }
}
fn main() {}
