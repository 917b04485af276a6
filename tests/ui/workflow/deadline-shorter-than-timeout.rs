// A deadline (every attempt of the step together) shorter than the timeout of one attempt:
// the error must underline the deadline and say what the two limits are.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) retry 3 timeout 5s deadline 2s;
    }
}
fn main() {}
