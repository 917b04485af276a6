// A field whose type is not a tool output: the error must underline the field's type.
use workflow::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Author {
    pub login: String,
}

#[derive(ToolOutput, Serialize, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub author: Author,
}

fn main() {}
