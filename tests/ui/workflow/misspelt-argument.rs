// A misspelt argument name: the error must underline it and suggest the parameter it meant.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        notify = send_message(chanel: "#dev", message: "hi");
    }
}
fn main() {}
