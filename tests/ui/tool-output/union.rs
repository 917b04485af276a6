// `ToolOutput` on a union: the error must underline `union`.
use workflow::prelude::*;

#[derive(ToolOutput)]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

fn main() {}
