//! `name::template()`: a compiled workflow as a `WorkflowTemplate`, built with the same rules
//! as the runtime's reading of the DSL as text (`WorkflowTemplate::from_dsl`).

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::LitStr;

use super::ast::{OnError, Piece, Segment, StepRef, StrPart, Value, WorkflowDef};
use super::plan::Plan;
use crate::paths::private;

pub(crate) fn template(def: &WorkflowDef, plan: &Plan) -> TokenStream {
    let p = private();
    let name = def.name.to_string();
    let description = crate::dsl::doc_text(&def.attrs);
    let inputs = def.inputs.iter().map(|i| {
        let (n, ty) =
            (i.ident.to_string(), i.ty.to_token_stream().to_string().split_whitespace().collect::<String>());
        quote!((#n, #ty))
    });
    let levels = plan.levels.iter().map(|level| {
        let ids = level.iter().map(|&i| def.steps[i].id.to_string());
        quote!(&[#(#ids),*])
    });
    let steps = def.steps.iter().map(|step| {
        let id = step.id.to_string();
        let alias = super::expand::tool_alias(def, step);
        let params = step.args.iter().map(|arg| {
            let (n, v) = (arg.name.to_string(), parameter(&arg.value));
            quote!((#n, #v))
        });
        let depends = step.depends.iter().map(ToString::to_string);
        let condition = step.condition.as_ref().map_or_else(
            || quote!(#p::None),
            |c| {
                let text = condition_text(&c.pieces);
                quote!(#p::Some(#text))
            },
        );
        let retry = step.retry.as_ref().map_or_else(
            || quote!(#p::None),
            |r| {
                let count = crate::dsl::validate::retry_count(&r.count).unwrap_or(0);
                let backoff = opt_ms(r.backoff.as_ref());
                let multiplier = match r.multiplier {
                    Some((m, _)) => quote!(#p::Some(#m)),
                    None => quote!(#p::None),
                };
                let max = opt_ms(r.max.as_ref());
                let jitter = r.jitter;
                quote!(#p::Some((#count, #backoff, #multiplier, #max, #jitter)))
            },
        );
        let timeout = opt_ms(step.timeout.as_ref());
        let skip = matches!(step.on_error, Some(OnError::Skip));
        quote! {
            #p::dsl::compiled_step(
                #id, <#alias as #p::Tool>::NAME, #p::vec![#(#params),*], &[#(#depends),*],
                #condition, #retry, #timeout, #skip,
            )
        }
    });
    quote! {
        #p::dsl::compiled_template(#name, #description, &[#(#inputs),*], #p::vec![#(#steps),*], &[#(#levels),*])
    }
}

fn opt_ms(d: Option<&super::ast::DurationLit>) -> TokenStream {
    let p = private();
    match d.and_then(|d| crate::dsl::validate::duration(d, &mut crate::errors::Errors::default())) {
        Some(ms) => quote!(#p::Some(#ms)),
        None => quote!(#p::None),
    }
}

/// An argument as JSON: references become `{{path}}` templates.
fn parameter(value: &Value) -> TokenStream {
    let p = private();
    match value.pieces.as_slice() {
        [Piece::Ref(r)] => {
            let text = format!("{{{{{}}}}}", path_text(r));
            quote!(#p::dsl::text(#text))
        }
        [Piece::Str(_, parts)] => {
            let text = string_template(parts);
            quote!(#p::dsl::text(#text))
        }
        [Piece::Token(TokenTree::Literal(lit))] => match syn::parse2::<syn::Lit>(lit.to_token_stream()) {
            Ok(syn::Lit::Str(s)) => {
                let text = escape_text(&s.value());
                quote!(#p::dsl::text(#text))
            }
            Ok(syn::Lit::Int(i)) if i.suffix().is_empty() => {
                let digits = i.base10_digits();
                quote!(#p::dsl::number(#digits))
            }
            Ok(syn::Lit::Float(f)) if f.suffix().is_empty() => {
                let digits = f.base10_digits();
                quote!(#p::dsl::number(#digits))
            }
            _ => rust(value),
        },
        [Piece::Token(TokenTree::Punct(minus)), Piece::Token(TokenTree::Literal(lit))]
            if minus.as_char() == '-' =>
        {
            match syn::parse2::<syn::Lit>(lit.to_token_stream()) {
                Ok(syn::Lit::Int(i)) if i.suffix().is_empty() => {
                    let digits = format!("-{}", i.base10_digits());
                    quote!(#p::dsl::number(#digits))
                }
                Ok(syn::Lit::Float(f)) if f.suffix().is_empty() => {
                    let digits = format!("-{}", f.base10_digits());
                    quote!(#p::dsl::number(#digits))
                }
                _ => rust(value),
            }
        }
        [Piece::Token(TokenTree::Ident(b))] if b == "true" || b == "false" => {
            let b = b == "true";
            quote!(#p::Value::Bool(#b))
        }
        _ => rust(value),
    }
}

fn rust(value: &Value) -> TokenStream {
    let p = private();
    let text = condition_text(&value.pieces);
    quote!(#p::dsl::rust_expression(#text))
}

/// `root.field[0]["key"]`, printed by the grammar's own `Path`.
fn path_text(r: &StepRef) -> String {
    use workflow_core::ast::{Path, Segment as S};
    let unraw = |i: &proc_macro2::Ident| i.to_string().trim_start_matches("r#").to_owned();
    let segments = r
        .path
        .iter()
        .map(|segment| match segment {
            Segment::Field(f) => S::Field(unraw(f)),
            Segment::Index(i, _) => S::Index(*i),
            Segment::Key(k, _) => S::Key(k.clone()),
        })
        .collect();
    Path { root: unraw(&r.root), segments, span: Default::default() }.to_string()
}

fn escape_text(text: &str) -> String {
    text.replace("{{", "{{'{{'}}")
}

fn string_template(parts: &[StrPart]) -> String {
    parts
        .iter()
        .map(|part| match part {
            StrPart::Text(t) => escape_text(t),
            StrPart::Ref(r) => format!("{{{{{}}}}}", path_text(r)),
        })
        .collect()
}

/// The source of a condition or expression, references as `<<path>>`.
fn condition_text(pieces: &[Piece]) -> String {
    let mut out = Vec::new();
    for piece in pieces {
        out.push(match piece {
            Piece::Token(t) => t.to_string(),
            Piece::Ref(r) => format!("<<{}>>", path_text(r)),
            Piece::Str(lit, _) => LitStr::to_token_stream(lit).to_string(),
            Piece::Group(delimiter, _, inner) => {
                let (open, close) = match delimiter {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                format!("{open}{}{close}", condition_text(inner))
            }
        });
    }
    join_tokens(&out)
}

/// Joins token texts with spaces, but keeps `&&`, `||`, `==`, `!=`, `<=`, `>=` whole.
fn join_tokens(tokens: &[String]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let glued = i > 0
            && matches!(
                (tokens[i - 1].as_str(), t.as_str()),
                ("&", "&") | ("|", "|") | ("=", "=") | ("!", "=") | ("<", "=") | (">", "=")
            );
        if i > 0 && !glued {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}
