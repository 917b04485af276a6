// A reference to a field the tool's output does not have: rustc's error must point at
// the field inside `<<…>>` and list the available fields.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b");
        notify = send_message(channel: "#dev", message: <<pr.link>>);
    }
}
fn main() {}
