// A step calling a tool that does not exist: the error must underline the tool name.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        issues = list_isues(repo: <<repo>>);
    }
}
fn main() {}
