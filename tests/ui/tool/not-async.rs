// A tool declared without `async`: the error must underline `fn`.
use workflow::prelude::*;

/// Echo the text.
#[tool]
pub fn echo(text: String) -> Result<String, ToolError> {
    Ok(text)
}

fn main() {}
