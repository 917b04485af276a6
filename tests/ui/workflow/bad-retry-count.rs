// A retry count that is not a whole number: the error must underline it.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) retry 2.5;
    }
}
fn main() {}
