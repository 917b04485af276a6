// A tool with no return type: the error must point after the parameters and say what to add.
use workflow::prelude::*;

/// Log the text.
#[tool]
pub async fn log(text: String) {
    let _ = text;
}

fn main() {}
