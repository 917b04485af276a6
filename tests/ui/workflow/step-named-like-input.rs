// A step with the name of an input: references to it would be ambiguous.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        repo = list_issues(repo: <<repo>>);
    }
}
fn main() {}
