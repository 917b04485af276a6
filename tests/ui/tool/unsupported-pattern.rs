// A parameter written as a tuple pattern: it has no name to become the tool's argument.
use workflow::prelude::*;

/// Add two numbers.
#[tool]
pub async fn add((a, b): (i64, i64)) -> Result<i64, ToolError> {
    Ok(a + b)
}

fn main() {}
