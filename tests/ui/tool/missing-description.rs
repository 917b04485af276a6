// A tool without a doc comment: models choose tools by their description, so one is required.
use workflow::prelude::*;

#[tool]
pub async fn echo(text: String) -> Result<String, ToolError> {
    Ok(text)
}

fn main() {}
