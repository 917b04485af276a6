// A string literal where the tool takes a `u32`: the error must underline the literal and say
// to write the number without quotes.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        found = search_issues(query: "is:open", limit: "10");
    }
}
fn main() {}
