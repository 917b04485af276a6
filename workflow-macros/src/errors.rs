//! Collects the errors of one validation pass so the user sees all of them in one build.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
    count: usize,
}

impl Errors {
    /// An error spanning `tokens`.
    pub fn at(&mut self, tokens: impl ToTokens, msg: impl Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    /// An error at `span`.
    pub fn at_span(&mut self, span: Span, msg: impl Display) {
        self.push(syn::Error::new(span, msg));
    }

    pub fn push(&mut self, err: syn::Error) {
        self.count += 1;
        match &mut self.first {
            Some(first) => first.combine(err),
            None => self.first = Some(err),
        }
    }

    /// How many errors so far.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn finish(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}

pub(crate) use workflow_core::suggest::did_you_mean;
