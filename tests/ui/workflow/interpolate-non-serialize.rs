// An input whose type is not `Serialize`, interpolated into a string: the error must point at
// the string and say that interpolation writes JSON, so the type needs `Serialize`.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

#[derive(Clone)]
pub struct Reviewer {
    pub login: String,
}

workflow! {
    w(reviewer: Reviewer) {
        notify = send_message(channel: "#dev", message: "review by <<reviewer>>");
    }
}
fn main() {}
