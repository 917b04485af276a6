// `ToolOutput` on a tuple struct: its fields have no names to reference; the error must
// underline the fields and show the struct with named fields.
use workflow::prelude::*;

#[derive(ToolOutput, Serialize)]
pub struct Point(pub i64, pub i64);

fn main() {}
