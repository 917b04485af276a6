//! `#[tool]`: parse → validate → expand. The user's function is kept as written; the macro adds
//! a sibling struct of its model-facing arguments, with the `Tool` and `CallTool` impls.

mod ast;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(err) => {
            let err = err.into_compile_error();
            return quote::quote!(#err #item);
        }
    };
    // `#[secret]` marks are the macro's: the function is emitted without them, also when the
    // tool has errors (rustc would otherwise add "cannot find attribute `secret`").
    let mut emitted = func.clone();
    for input in &mut emitted.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            typed.attrs.retain(|a| !a.path().is_ident("secret"));
        }
    }
    let expanded = parse::args(args).and_then(|args| validate::check(args, &func));
    match expanded {
        Ok(tool) => expand::tool(&tool, &emitted),
        Err(err) => {
            let err = err.into_compile_error();
            quote::quote!(#err #emitted)
        }
    }
}
