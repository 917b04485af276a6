// A misspelt clause keyword after the call: the error must list the clauses.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) timout 30s;
    }
}
fn main() {}
