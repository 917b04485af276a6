// `ToolOutput` on a generic struct: the error must underline the type parameter.
use workflow::prelude::*;

#[derive(ToolOutput, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
}

fn main() {}
