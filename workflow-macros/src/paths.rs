//! The one path generated code uses to reach the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

/// `::workflow::__private`: every name generated code needs, and nothing else.
pub(crate) fn private() -> TokenStream {
    quote!(::workflow::__private)
}

/// `::workflow::__private` spanned at `span`, for paths inside `quote_spanned!`: an expression's
/// span runs from its first token to its last, so a path left at the call site would stretch an
/// error over the whole macro call.
pub(crate) fn private_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::workflow::__private)
}
