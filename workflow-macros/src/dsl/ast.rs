//! Types mirroring the surface syntax of `workflow!`, keeping the user's tokens for spans.

use proc_macro2::{Delimiter, Span, TokenTree};
use syn::{Attribute, Ident, LitFloat, LitInt, LitStr, Type, Visibility};

/// One `name(inputs) { steps }` block.
#[derive(Clone)]
pub(crate) struct WorkflowDef {
    pub attrs: Vec<Attribute>,
    /// `#[schedule(eager)]`: each step starts as soon as what it needs has ended (the span of
    /// `eager`, for errors).
    pub eager: Option<Span>,
    pub vis: Visibility,
    pub name: Ident,
    pub inputs: Vec<Input>,
    pub steps: Vec<Step>,
}

/// `name: Type` in the workflow's parameter list.
#[derive(Clone)]
pub(crate) struct Input {
    pub ident: Ident,
    pub ty: Type,
}

/// `id = tool(args) clauses;`
#[derive(Clone)]
pub(crate) struct Step {
    pub id: Ident,
    pub tool: syn::Path,
    pub args: Vec<Arg>,
    pub depends: Vec<Ident>,
    pub condition: Option<Value>,
    pub retry: Option<Retry>,
    pub timeout: Option<DurationLit>,
    pub deadline: Option<DurationLit>,
    pub on_error: Option<OnError>,
    /// `on_error fallback tool(…)`'s call.
    pub fallback: Option<Call>,
    /// `compensate tool(…)`.
    pub compensate: Option<Call>,
    /// `after X failed | always`: `X`, and the trigger word.
    pub after: Option<(Ident, Ident)>,
    /// `for item in <<list>> [max N] [tolerate K]`.
    pub for_each: Option<ForEach>,
}

/// `for item in <<list>> [max N] [tolerate K]`.
#[derive(Clone)]
pub(crate) struct ForEach {
    pub item: Ident,
    pub list: StepRef,
    pub max: Option<LitInt>,
    pub tolerate: Option<LitInt>,
}

/// A fallback's or a compensation's `tool(args)`.
#[derive(Clone)]
pub(crate) struct Call {
    pub tool: syn::Path,
    pub args: Vec<Arg>,
}

/// `name: value` in a step's call.
#[derive(Clone)]
pub(crate) struct Arg {
    pub name: Ident,
    pub value: Value,
}

/// An argument value or a condition: Rust tokens with `<<…>>` references spliced in.
#[derive(Clone)]
pub(crate) struct Value {
    pub pieces: Vec<Piece>,
    /// The first and last token, to span errors over the whole value.
    pub span: (Span, Span),
}

/// A part of a [`Value`].
#[derive(Clone)]
pub(crate) enum Piece {
    /// A token passed through as written.
    Token(TokenTree),
    /// A `<<…>>` reference.
    Ref(StepRef),
    /// A string literal, with the references inside it.
    Str(LitStr, Vec<StrPart>),
    /// A delimited group, whose contents may hold references too.
    Group(Delimiter, Span, Vec<Piece>),
}

/// Text and references inside a string literal.
#[derive(Clone)]
pub(crate) enum StrPart {
    Text(String),
    Ref(StepRef),
}

/// `<<root.field[0]["key"]>>`.
#[derive(Clone)]
pub(crate) struct StepRef {
    /// The span of `<<` (or of the whole string literal for a reference inside one).
    pub open: Span,
    /// The span of `>>`.
    pub close: Span,
    pub root: Ident,
    pub path: Vec<Segment>,
}

/// One step of a reference's path after its root.
#[derive(Clone)]
pub(crate) enum Segment {
    Field(Ident),
    /// `.$failed`: how the step ended (the name without `$`).
    Status(Ident),
    Index(i64, Span),
    Key(String, Span),
}

/// `retry N [backoff D [xF]] [max D] [jitter]`.
#[derive(Clone)]
pub(crate) struct Retry {
    /// The span of `retry`.
    pub keyword: Span,
    pub count: syn::Lit,
    pub backoff: Option<DurationLit>,
    pub multiplier: Option<(f64, Span)>,
    pub max: Option<DurationLit>,
    pub jitter: bool,
    /// `on timeout, rate_limited`.
    pub on: Vec<Ident>,
}

/// A duration as written: `30s`, `500ms`, `1.5s`, `2m`, `1h`.
#[derive(Clone)]
pub(crate) enum DurationLit {
    Int(LitInt),
    Float(LitFloat),
}

/// `on_error skip | abort | fallback …`, with the span of its word.
#[derive(Clone)]
pub(crate) enum OnError {
    /// Record the failure, go on with the rest.
    Skip(Span),
    /// Stop the run (the default).
    Abort(Span),
    /// Call the step's fallback.
    Fallback(Span),
}

impl Value {
    /// Every reference in this value, in order.
    pub fn refs(&self) -> Vec<&StepRef> {
        fn walk<'a>(pieces: &'a [Piece], out: &mut Vec<&'a StepRef>) {
            for piece in pieces {
                match piece {
                    Piece::Ref(r) => out.push(r),
                    Piece::Str(_, parts) => out.extend(parts.iter().filter_map(|p| match p {
                        StrPart::Ref(r) => Some(r),
                        StrPart::Text(_) => None,
                    })),
                    Piece::Group(_, _, inner) => walk(inner, out),
                    Piece::Token(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.pieces, &mut out);
        out
    }
}
