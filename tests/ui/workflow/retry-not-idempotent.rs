// A `retry` of a tool marked `#[tool(idempotent = false)]` warns (denied here, so that the case
// fails and shows the warning), at `retry`.
#![deny(deprecated)]
use workflow::prelude::*;

/// Charge a card: calling it twice charges twice.
#[tool(idempotent = false)]
async fn charge(amount: u64) -> Result<u64, ToolError> {
    Ok(amount)
}

/// Read a balance.
#[tool]
async fn balance() -> Result<u64, ToolError> {
    Ok(1)
}

workflow! {
    w() {
        safe = balance() retry 3;
        paid = charge(amount: <<safe>>) retry 3 backoff 1s;
    }
}
fn main() {}
