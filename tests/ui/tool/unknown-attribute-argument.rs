// A misspelt `#[tool(...)]` argument: the error must underline it and list the valid ones.
use workflow::prelude::*;

/// Echo the text.
#[tool(nme = "echo_text")]
pub async fn echo(text: String) -> Result<String, ToolError> {
    Ok(text)
}

fn main() {}
