// A tool returning a bare `String`, called by a workflow: the only error must be at the return
// type, not again at the workflow's step.
use workflow::prelude::*;

/// Echo the text.
#[tool]
pub async fn echo(text: String) -> String {
    text
}

workflow! {
    w(text: String) {
        echoed = echo(text: <<text>>);
    }
}

fn main() {}
