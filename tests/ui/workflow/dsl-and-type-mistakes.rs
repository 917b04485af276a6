// A mistake the macro finds (an unknown step) and one rustc finds (a number where a `String` is
// expected) are reported in the same build, and the code that uses the workflow gets no error.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String, limit: u32) {
        issues = list_issues(repo: <<repo>>);
        pr     = create_pr(repo: <<repo>>, title: <<limit>>, body: "Fixes #<<isues.items[0].number>>");
        notify = send_message(channel: "#dev", message: <<pr.url>>) depends issues;
    }
}

async fn caller() -> Result<String, Box<WorkflowError>> {
    let run = w("acme/app".into(), 3).run(&()).await?;
    Ok(run.pr.url.clone())
}

fn main() {
    let _ = caller;
}
