//! The `workflow!` and `#[tool]` macros of [`workflow`](https://docs.rs/workflow). Use them
//! through the `workflow` crate, which re-exports them and documents them.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod dsl;
mod errors;
mod paths;
mod tool;

use proc_macro::TokenStream;

/// Declares a workflow. See the `workflow` crate for documentation.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    dsl::expand(input.into()).into()
}

/// Makes an `async fn` a tool. See the `workflow` crate for documentation.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(args.into(), item.into()).into()
}
