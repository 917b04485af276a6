// A generic tool: its JSON schema could not be fixed; the error must underline the parameter.
use workflow::prelude::*;

/// Echo the value.
#[tool]
pub async fn echo<T: Send>(value: T) -> Result<String, ToolError> {
    let _ = value;
    Ok(String::new())
}

fn main() {}
