// A fallback whose tool gives another output than the step's: the error must point at the
// fallback's tool and name both types.
use workflow::prelude::*;

#[path = "../support/tools.rs"]
mod tools;
#[allow(unused_imports)]
use tools::*;

workflow! {
    w(repo: String) {
        pr = create_pr(repo: <<repo>>, title: "t", body: "b")
             on_error fallback send_message(channel: "#dev", message: "no PR");
    }
}
fn main() {}
