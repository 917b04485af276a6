//! The `ToolOutput` and `JsonSchema` impls.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
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
        };
    }
}
