//! The checked shape of a `#[derive(ToolOutput)]` struct.

use syn::{Generics, Ident, Type};

/// A struct with named fields.
pub(crate) struct Output<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub doc: String,
    pub fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    /// The name it has in JSON (`#[serde(rename = "…")]` or the Rust name).
    pub name: String,
    pub ty: &'a Type,
    /// The field's doc comment.
    pub doc: String,
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
