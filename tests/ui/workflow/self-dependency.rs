// A step that lists itself in `depends`: the error must underline the name in `depends`.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_issues(repo: <<repo>>) depends issues;
    }
}
fn main() {}
