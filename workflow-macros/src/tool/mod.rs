//! `#[tool]`: parse → validate → expand. The user's function is kept as written; the macro adds
//! a sibling struct of its model-facing arguments, with the `Tool` and `CallTool` impls.

mod ast;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: ast::ToolArgs = parse::args(args)?;
    let func: syn::ItemFn = syn::parse2(item)?;
    let tool = validate::check(args, &func)?;
    // `#[secret]` marks are the macro's: the function is emitted without them.
    let mut emitted = func.clone();
    for input in &mut emitted.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            typed.attrs.retain(|a| !a.path().is_ident("secret"));
        }
    }
    Ok(expand::tool(&tool, &emitted))
}
