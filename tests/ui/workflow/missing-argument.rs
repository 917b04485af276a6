// A call that leaves out a parameter of the tool: the error must point at the tool name.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t");
    }
}
fn main() {}
