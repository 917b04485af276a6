// `for … in` over a value that is not a list: the error must point at the reference.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notes = send_message(channel: "#dev", message: <<part>>) for part in <<pr.url>>;
    }
}
fn main() {}
