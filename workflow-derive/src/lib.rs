//! `#[derive(ToolOutput)]` for [`workflow`](https://docs.rs/workflow). Use it through the
//! `workflow` crate, which re-exports it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod tool_output;

use proc_macro::TokenStream;

/// Derives `ToolOutput` (and `JsonSchema`) for a struct with named fields.
///
/// See the `workflow` crate for documentation.
#[proc_macro_derive(ToolOutput, attributes(tool_output))]
pub fn derive_tool_output(input: TokenStream) -> TokenStream {
    tool_output::expand(input.into()).into()
}
