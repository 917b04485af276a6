// A tool returning a bare `String` instead of `Result<String, ToolError>`: the error must
// underline the return type and say what to write.
use workflow::prelude::*;

/// Echo the text.
#[tool]
pub async fn echo(text: String) -> String {
    text
}

fn main() {}
