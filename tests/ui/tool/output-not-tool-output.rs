// A tool returning a type that is not a `ToolOutput`: the error must underline the return type
// and say to derive `ToolOutput`.
use workflow::prelude::*;

pub struct Page {
    pub body: String,
}

/// Fetch a page.
#[tool]
pub async fn fetch(url: String) -> Result<Page, ToolError> {
    Ok(Page { body: url })
}

fn main() {}
