//! `#[tool(...)]` arguments: syntax only.

use proc_macro2::TokenStream;
use syn::parse::Parser as _;

use super::ast::ToolArgs;

const KEYS: [&str; 4] = ["name", "description", "idempotent", "read_only"];

pub(crate) fn args(tokens: TokenStream) -> syn::Result<ToolArgs> {
    let mut args = ToolArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("idempotent") {
            return set_once(&mut args.idempotent, meta.value()?.parse()?, "idempotent", &meta.path);
        }
        if meta.path.is_ident("read_only") {
            return set_once(&mut args.read_only, meta.value()?.parse()?, "read_only", &meta.path);
        }
        let slot = if meta.path.is_ident("name") {
            &mut args.name
        } else if meta.path.is_ident("description") {
            &mut args.description
        } else {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            let hint = workflow_core::suggest::did_you_mean(&key, KEYS).unwrap_or_default();
            let keys = workflow_core::suggest::list(KEYS);
            return Err(
                meta.error(format_args!("unknown `#[tool]` argument `{key}`{hint} (expected one of {keys})"))
            );
        };
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        set_once(slot, meta.value()?.parse()?, &key, &meta.path)
    });
    parser.parse2(tokens)?;
    Ok(args)
}

/// Sets an argument that may be given once (one helper for every key).
fn set_once<T>(slot: &mut Option<T>, value: T, key: &str, at: &syn::Path) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(at, format_args!("duplicate `#[tool]` argument `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}
