//! What a `#[tool]` function must look like.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type};

use super::ast::{Param, ToolArgs, ToolFn};
use crate::errors::Errors;

pub(crate) fn check(args: ToolArgs, func: &ItemFn) -> syn::Result<ToolFn<'_>> {
    let mut errors = Errors::default();
    check_async(func, &mut errors);
    check_not_generic(func, &mut errors);
    let ret = check_return(func, &mut errors);
    let params = check_params(func, &mut errors);
    let description = check_description(&args, func, &mut errors);
    errors.finish()?;
    let ret =
        ret.ok_or_else(|| syn::Error::new(func.sig.span(), "a tool must return `Result<T, ToolError>`"))?;
    let name = args.name.map_or_else(|| func.sig.ident.to_string(), |n| n.value());
    let idempotent = args.idempotent.as_ref().is_none_or(syn::LitBool::value);
    let read_only = args.read_only.as_ref().is_some_and(syn::LitBool::value);
    Ok(ToolFn {
        name,
        description,
        idempotent,
        read_only,
        ident: &func.sig.ident,
        vis: &func.vis,
        params,
        ret,
    })
}

// A tool is called by the executor, which awaits it: it must be an `async fn`.
fn check_async(func: &ItemFn, errors: &mut Errors) {
    if func.sig.asyncness.is_none() {
        errors.at(func.sig.fn_token, "a `#[tool]` function must be `async`; write `async fn`");
    }
}

// A tool's JSON schema is fixed, so its parameters cannot be generic.
fn check_not_generic(func: &ItemFn, errors: &mut Errors) {
    if let Some(param) = func.sig.generics.params.first() {
        errors.at(param, "a `#[tool]` function cannot be generic; use concrete parameter types");
    }
}

// A tool returns `Result<T, E>`; the type itself is checked by the `ToolResult` trait.
fn check_return<'a>(func: &'a ItemFn, errors: &mut Errors) -> Option<&'a Type> {
    match &func.sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        ReturnType::Default => {
            errors.at_span(
                func.sig.paren_token.span.close(),
                "a `#[tool]` function must return `Result<T, ToolError>`; add `-> Result<…, ToolError>`",
            );
            None
        }
    }
}

// Each parameter is `name: Type` (a model-facing argument) or `State(name): State<T>`.
fn check_params<'a>(func: &'a ItemFn, errors: &mut Errors) -> Vec<Param<'a>> {
    let mut params = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                "a `#[tool]` function cannot take `self`; write a free `async fn` and pass shared \
                 state as a `State<T>` parameter",
            ),
            FnArg::Typed(typed) => {
                let secret = typed.attrs.iter().find(|a| a.path().is_ident("secret"));
                if let Some(attr) = secret.filter(|a| !matches!(a.meta, syn::Meta::Path(_))) {
                    errors.at(attr, "`#[secret]` takes no arguments; write `#[secret]`");
                }
                if let Some(inner) = state_inner(&typed.ty) {
                    if let Some(attr) = secret {
                        errors.at(
                            attr,
                            "`#[secret]` marks a model-facing argument; shared state is never recorded",
                        );
                    }
                    params.push(Param::State { inner });
                    continue;
                }
                if is_key(&typed.ty) {
                    if let Some(attr) = secret {
                        errors.at(attr, "`#[secret]` marks a model-facing argument, not the idempotency key");
                    }
                    params.push(Param::Key);
                    continue;
                }
                match &*typed.pat {
                    Pat::Ident(pat) if pat.subpat.is_none() && pat.by_ref.is_none() => {
                        params.push(Param::Arg {
                            ident: &pat.ident,
                            ty: &typed.ty,
                            secret: secret.is_some(),
                        });
                    }
                    other => errors.at(
                        other,
                        "unsupported parameter pattern in a `#[tool]` function; write `name: Type`, \
                         and `name` becomes the tool's argument",
                    ),
                }
            }
        }
    }
    params
}

/// Whether a parameter is typed `IdempotencyKey` (or `workflow::journal::IdempotencyKey`):
/// matched by name, as `State<T>` is.
fn is_key(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let names: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let plain = path.path.segments.iter().all(|s| s.arguments.is_none()) && path.qself.is_none();
    plain
        && matches!(
            names.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            ["IdempotencyKey"] | ["workflow", "journal", "IdempotencyKey"]
        )
}

/// The `T` of a `State<T>` parameter type.
///
/// Matched by name: which parameters are model-facing must be known here, before types are
/// resolved, to build the arguments struct. `workflow::State` and `workflow::prelude::State`
/// are the same type and are accepted too.
fn state_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let prefix: Vec<String> = path.path.segments.iter().rev().skip(1).map(|s| s.ident.to_string()).collect();
    let known_prefix = matches!(
        prefix.iter().rev().map(String::as_str).collect::<Vec<_>>().as_slice(),
        [] | ["workflow"] | ["workflow", "prelude"]
    );
    if last.ident != "State" || !known_prefix || path.qself.is_some() {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

// Models choose tools by their description: every tool has one.
fn check_description(args: &ToolArgs, func: &ItemFn, errors: &mut Errors) -> String {
    let doc = crate::dsl::doc_text(&func.attrs);
    let description = args.description.as_ref().map_or(doc, syn::LitStr::value);
    if description.trim().is_empty() {
        errors.at(
            &func.sig.ident,
            format_args!(
                "tool `{}` has no description; add a `///` doc comment saying what it does \
                 (models choose tools by it)",
                func.sig.ident
            ),
        );
    }
    description
}
