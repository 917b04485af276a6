// A method with `self`: tools are free functions; shared state comes through `State<T>`.
use workflow::prelude::*;

pub struct Client;

impl Client {
    /// Fetch a page.
    #[tool]
    pub async fn fetch(&self, url: String) -> Result<String, ToolError> {
        Ok(url)
    }
}

fn main() {}
