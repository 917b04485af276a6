// Several mistakes in one workflow: all of them are reported in one build.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        issues = list_issues(repo: <<rpo>>) timeout 5;
        pr = create_pr(repo: <<repo>>, title: "t", body: "b") depends notfy;
    }
}
fn main() {}
