//! Which types `#[derive(ToolOutput)]` accepts.

use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use super::ast::{Field, Output, doc_text};

pub(crate) fn check(input: &DeriveInput) -> syn::Result<Output<'_>> {
    check_no_generics(input)?;
    let fields = match &input.data {
        Data::Struct(data) => check_named_fields(input, &data.fields)?,
        // An output is referenced field by field (`<<step.field>>`), so it needs named fields.
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                "`ToolOutput` cannot be derived for an enum: workflows reference an output by its \
                 fields; use a struct with named fields, or return `serde_json::Value`",
            ));
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                "`ToolOutput` cannot be derived for a union; use a struct with named fields",
            ));
        }
    };
    Ok(Output { ident: &input.ident, generics: &input.generics, doc: doc_text(&input.attrs), fields })
}

// Generic outputs would need bounds on every parameter; none of the tools we know need them.
fn check_no_generics(input: &DeriveInput) -> syn::Result<()> {
    match input.generics.params.first() {
        Some(param) => Err(syn::Error::new(
            param.span(),
            "`ToolOutput` cannot be derived for a generic type; use concrete field types",
        )),
        None => Ok(()),
    }
}

// Tuple and unit structs have no field names for `<<step.field>>` to use.
fn check_named_fields<'a>(input: &'a DeriveInput, fields: &'a Fields) -> syn::Result<Vec<Field<'a>>> {
    let named = match fields {
        Fields::Named(named) => named,
        Fields::Unnamed(unnamed) => {
            return Err(syn::Error::new(
                unnamed.span(),
                format_args!(
                    "`ToolOutput` needs named fields, which workflows reference as `<<step.field>>`; \
                     write `struct {} {{ name: Type, … }}`",
                    input.ident
                ),
            ));
        }
        Fields::Unit => {
            return Err(syn::Error::new(
                input.ident.span(),
                "`ToolOutput` needs named fields; a tool with nothing to return returns `()`",
            ));
        }
    };
    named
        .named
        .iter()
        .map(|f| {
            let ident =
                f.ident.as_ref().ok_or_else(|| syn::Error::new(f.span(), "expected a named field"))?;
            Ok(Field {
                name: serde_rename(&f.attrs)?.unwrap_or_else(|| ident.to_string()),
                ty: &f.ty,
                doc: doc_text(&f.attrs),
            })
        })
        .collect()
}

/// The `rename` of a field's `#[serde(rename = "…")]`, so the schema names what serde writes.
fn serde_rename(attrs: &[syn::Attribute]) -> syn::Result<Option<String>> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
                let _: proc_macro2::TokenStream = _content.parse()?;
            }
            Ok(())
        })?;
    }
    Ok(rename)
}
