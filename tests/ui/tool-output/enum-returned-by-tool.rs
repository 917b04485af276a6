// A rejected `ToolOutput` type (an enum) returned by a tool that a workflow calls: the derive's
// error must be the only one, with no second error at the tool or the workflow.
use workflow::prelude::*;

#[derive(ToolOutput, Serialize, Deserialize, Clone)]
pub enum Status {
    Open,
    Closed,
}

/// The status of an issue.
#[tool]
pub async fn issue_status(number: u64) -> Result<Status, ToolError> {
    let _ = number;
    Ok(Status::Open)
}

workflow! {
    w(number: u64) {
        status = issue_status(number: <<number>>);
    }
}

fn main() {}
