// Three steps that each use the next one's output: the error must name the whole cycle
// and point at the reference that starts it.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        a = create_pr(repo: <<repo>>, title: <<c.url>>, body: "x");
        b = create_pr(repo: <<repo>>, title: <<a.url>>, body: "x");
        c = create_pr(repo: <<repo>>, title: <<b.url>>, body: "x");
    }
}
fn main() {}
