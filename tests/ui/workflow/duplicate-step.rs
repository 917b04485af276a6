// Two steps with the same id: the error must underline the second one.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>);
        issues = list_issues(repo: "other");
    }
}
fn main() {}
