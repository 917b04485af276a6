// A timeout without a unit: the error must underline the number and show the expected form.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) timeout 30;
    }
}
fn main() {}
