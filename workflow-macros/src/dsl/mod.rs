//! `workflow!`: parse → validate (lowering into the shared model and its rule book) → expand.

mod ast;
pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    try_expand(input).unwrap_or_else(syn::Error::into_compile_error)
}

fn try_expand(input: TokenStream) -> syn::Result<TokenStream> {
    let parse::Workflows(defs) = syn::parse2(input)?;
    // Every problem is reported, and every workflow still expanded (leniently when it broke a
    // rule), so that rustc's own errors come in the same build and callers see no second wave.
    let (checked, errors) = validate::check(&defs);
    let mut out: TokenStream = errors.map(syn::Error::into_compile_error).unwrap_or_default();
    out.extend(checked.iter().map(expand::workflow));
    Ok(out)
}

/// The text of the `///` comments among `attrs`, lines joined with newlines.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}
