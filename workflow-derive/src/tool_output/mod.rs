//! `#[derive(ToolOutput)]`: parse → validate → expand.

mod ast;
mod expand;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.into_compile_error(),
    };
    match validate::check(&input) {
        Ok(output) => expand::tool_output(&output),
        // The error, with impls that keep every tool returning the type free of a second error.
        Err(err) => expand::fallback(&input, err),
    }
}
