//! The shape of a `#[tool]` function.

use syn::{Ident, LitStr, Type};

/// `#[tool(name = "…", description = "…", idempotent = false, read_only = true)]`.
#[derive(Default)]
pub(crate) struct ToolArgs {
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub idempotent: Option<syn::LitBool>,
    pub read_only: Option<syn::LitBool>,
}

/// A checked tool function.
pub(crate) struct ToolFn<'a> {
    /// The name models call it by.
    pub name: String,
    pub description: String,
    /// Whether calling it twice does what calling it once does (`idempotent = false` says no).
    pub idempotent: bool,
    /// Whether it changes nothing (`read_only = true` says so).
    pub read_only: bool,
    pub ident: &'a Ident,
    pub vis: &'a syn::Visibility,
    pub params: Vec<Param<'a>>,
    /// The return type as written, `Result<T, E>`.
    pub ret: &'a Type,
}

/// One parameter of the tool function.
pub(crate) enum Param<'a> {
    /// A model-facing argument: a field of the arguments struct; `secret` when marked
    /// `#[secret]` (its value is never recorded).
    Arg { ident: &'a Ident, ty: &'a Type, secret: bool },
    /// `IdempotencyKey`: the key of the call, from the run's journal.
    Key,
    /// `State<T>`: shared state made with `FromRef`.
    State { inner: &'a Type },
}
