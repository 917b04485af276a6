// A step that uses its own output: the error must underline the reference's root.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: <<pr.url>>);
    }
}
fn main() {}
