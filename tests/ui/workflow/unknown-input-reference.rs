// A reference to a name that is neither an input nor a step, and close to none.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repository_name>>);
    }
}
fn main() {}
