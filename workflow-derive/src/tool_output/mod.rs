//! `#[derive(ToolOutput)]`: parse → validate → expand.

mod ast;
mod expand;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    try_expand(input).unwrap_or_else(syn::Error::into_compile_error)
}

fn try_expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: syn::DeriveInput = syn::parse2(input)?;
    let output = validate::check(&input)?;
    Ok(expand::tool_output(&output))
}
