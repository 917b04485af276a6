// A step with two `retry` clauses: the error must underline the second `retry`.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) retry 2 timeout 30s retry 3;
    }
}
fn main() {}
