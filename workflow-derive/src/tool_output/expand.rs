//! The `ToolOutput` and `JsonSchema` impls, and the stand-ins emitted beside a rejected type's
//! error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use super::ast::Output;

pub(crate) fn tool_output(output: &Output<'_>) -> TokenStream {
    let p = quote!(::workflow::__private);
    let ident = output.ident;
    let name = ident.to_string();
    let doc = &output.doc;
    let fields = output.fields.iter().map(|f| {
        let (field_name, ty, field_doc) = (&f.name, f.ty, &f.doc);
        // Spanned at the field's type, so "`X` cannot be returned by a tool" points at it.
        let assert = quote_spanned! {ty.span()=> #p::assert_field_output::<#ty>(); };
        quote! {{
            #assert
            (#field_name, #p::schema::describe(#p::schema::field_schema::<#ty>(generator), #field_doc))
        }}
    });
    let (impl_generics, ty_generics, where_clause) = output.generics.split_for_impl();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::schemars::JsonSchema for #ident #ty_generics #where_clause {
                fn schema_name() -> #p::Cow<'static, str> {
                    #p::Cow::Borrowed(#name)
                }
                fn schema_id() -> #p::Cow<'static, str> {
                    #p::Cow::Borrowed(::core::concat!(::core::module_path!(), "::", #name))
                }
                fn json_schema(generator: &mut #p::schemars::SchemaGenerator) -> #p::schemars::Schema {
                    #p::schema::object_schema(#doc, #p::vec![#(#fields),*], false)
                }
            }
            #[automatically_derived]
            impl #impl_generics #p::ToolOutput for #ident #ty_generics #where_clause {}
            #[automatically_derived]
            impl #impl_generics #p::access::StaticFields for #ident #ty_generics #where_clause {}
        };
    }
}

/// The derive's error, with `ToolOutput` and `JsonSchema` impls for the type as written, so that
/// the tools and workflows using it report nothing more (thiserror's `fallback.rs`). The impls
/// are never used: the build fails at the error.
pub(crate) fn fallback(input: &DeriveInput, err: syn::Error) -> TokenStream {
    let p = quote!(::workflow::__private);
    let err = err.into_compile_error();
    let ident = &input.ident;
    let name = ident.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let predicates = where_clause.into_iter().flat_map(|w| &w.predicates);
    quote! {
        #err
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::schemars::JsonSchema for #ident #ty_generics #where_clause {
                fn schema_name() -> #p::Cow<'static, str> {
                    #p::Cow::Borrowed(#name)
                }
                fn json_schema(_: &mut #p::schemars::SchemaGenerator) -> #p::schemars::Schema {
                    ::core::default::Default::default()
                }
            }
            // A bound under `for<'__wf>` holds or not without an error of its own (trivial
            // bounds are unstable: https://github.com/rust-lang/rust/issues/48214), so a type
            // that is not `Serialize` or `Deserialize` gets no second error here either.
            #[automatically_derived]
            impl #impl_generics #p::ToolOutput for #ident #ty_generics
            where
                #(#predicates,)*
                for<'__wf> #ident #ty_generics: #p::serde::Serialize + #p::serde::de::DeserializeOwned + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
            }
            #[automatically_derived]
            impl #impl_generics #p::access::StaticFields for #ident #ty_generics #where_clause {}
        };
    }
}
