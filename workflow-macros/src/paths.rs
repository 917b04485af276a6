//! The one path generated code uses to reach the runtime.

use proc_macro2::TokenStream;
use quote::quote;

/// `::workflow::__private`: every name generated code needs, and nothing else.
pub(crate) fn private() -> TokenStream {
    quote!(::workflow::__private)
}
