// `ToolOutput` on an enum: workflows reference outputs by field, so the error must say to use a
// struct (or `serde_json::Value`) and underline `enum`.
use workflow::prelude::*;

#[derive(ToolOutput, Serialize)]
pub enum Status {
    Open,
    Closed,
}

fn main() {}
