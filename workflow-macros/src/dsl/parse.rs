//! `workflow!` syntax: `impl Parse` for the AST. Fails at the first syntax error.

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token, braced, parenthesized};

use super::ast::{
    Arg, Call, DurationLit, ForEach, Input, OnError, Piece, Retry, Segment, Step, StepRef, StrPart, Value,
    WorkflowDef,
};

/// The clause keywords that may follow a step's call; a condition ends at the next one.
const CLAUSES: &[&str] =
    &["depends", "if", "retry", "timeout", "deadline", "on_error", "compensate", "after", "for"];

/// Every workflow in one `workflow! { … }`.
pub(crate) struct Workflows(pub Vec<WorkflowDef>);

impl Parse for Workflows {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut defs = Vec::new();
        while !input.is_empty() {
            defs.push(input.parse()?);
        }
        Ok(Workflows(defs))
    }
}

impl Parse for WorkflowDef {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(syn::Attribute::parse_outer)?;
        let mut eager = None;
        let mut schedule = Vec::new();
        attrs.retain(|a| {
            let is_schedule = a.path().is_ident("schedule");
            if is_schedule {
                schedule.push(a.clone());
            }
            !is_schedule
        });
        for attr in schedule {
            let word: Ident = attr.parse_args().map_err(|e| {
                syn::Error::new(e.span(), "expected `#[schedule(eager)]` or `#[schedule(levels)]`")
            })?;
            match word.to_string().as_str() {
                "eager" => eager = Some(word.span()),
                "levels" => eager = None,
                other => {
                    return Err(syn::Error::new(
                        word.span(),
                        format_args!("unknown schedule `{other}`; expected `eager` or `levels`"),
                    ));
                }
            }
        }
        let vis = input.parse()?;
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a workflow: `name(input: Type, …) { step = tool(…); … }`")
        })?;
        let params;
        parenthesized!(params in input);
        let inputs = params.parse_terminated(Input::parse, Token![,])?.into_iter().collect();
        let body;
        braced!(body in input);
        let mut steps = Vec::new();
        while !body.is_empty() {
            steps.push(body.parse()?);
        }
        Ok(WorkflowDef { attrs, eager, vis, name, inputs, steps })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Ok(Input { ident, ty: input.parse()? })
    }
}

impl Parse for Step {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let id: Ident = input.parse()?;
        input.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format_args!("expected `=` after the step id: `{id} = tool(arg: value, …);`"),
            )
        })?;
        let tool = input.call(syn::Path::parse_mod_style)?;
        let content;
        parenthesized!(content in input);
        let args = parse_args(&content)?;
        let mut step = Step {
            id,
            tool,
            args,
            depends: Vec::new(),
            condition: None,
            retry: None,
            timeout: None,
            deadline: None,
            on_error: None,
            fallback: None,
            compensate: None,
            after: None,
            for_each: None,
        };
        parse_clauses(input, &mut step)?;
        Ok(step)
    }
}

fn parse_args(content: ParseStream<'_>) -> syn::Result<Vec<Arg>> {
    let mut args = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.call(Ident::parse_any)?;
        content.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(e.span(), format_args!("expected `:` after the argument name: `{name}: value`"))
        })?;
        let mut tokens = Vec::new();
        while !content.is_empty() && !content.peek(Token![,]) {
            tokens.push(content.parse::<TokenTree>()?);
        }
        if tokens.is_empty() {
            return Err(content.error(format_args!("expected a value for argument `{name}`")));
        }
        args.push(Arg { name, value: value(tokens)? });
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(args)
}

fn parse_clauses(input: ParseStream<'_>, step: &mut Step) -> syn::Result<()> {
    let mut seen = Once::new("clause", "a step takes one");
    loop {
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            return Ok(());
        }
        if input.is_empty() {
            return Err(input.error(format_args!("expected `;` after step `{}`", step.id)));
        }
        let keyword = input.call(Ident::parse_any).map_err(|e| syn::Error::new(e.span(), clause_help()))?;
        if CLAUSES.contains(&keyword.to_string().as_str()) {
            seen.claim(&keyword)?;
        }
        match keyword.to_string().as_str() {
            "depends" => loop {
                step.depends.push(input.parse()?);
                if !input.peek(Token![,]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            },
            "if" => {
                let mut tokens = Vec::new();
                while !input.is_empty() && !input.peek(Token![;]) && !at_clause(input) {
                    tokens.push(input.parse::<TokenTree>()?);
                }
                if tokens.is_empty() {
                    return Err(input.error("expected a condition after `if`"));
                }
                step.condition = Some(value(tokens)?);
            }
            "retry" => step.retry = Some(parse_retry(input, keyword.span())?),
            "timeout" => step.timeout = Some(input.parse()?),
            "deadline" => step.deadline = Some(input.parse()?),
            "on_error" => {
                let on_error = parse_on_error(input)?;
                if let OnError::Fallback(_) = on_error {
                    step.fallback = Some(parse_call(input, "fallback")?);
                }
                step.on_error = Some(on_error);
            }
            "compensate" => step.compensate = Some(parse_call(input, "compensate")?),
            "after" => step.after = Some(parse_after(input)?),
            "for" => step.for_each = Some(parse_for(input)?),
            other => {
                let hint = crate::errors::did_you_mean(other, CLAUSES.iter().copied())
                    .unwrap_or_else(|| format!("; {}", clause_help()));
                return Err(syn::Error::new(keyword.span(), format_args!("unknown clause `{other}`{hint}")));
            }
        }
    }
}

/// The keywords already used in one step or one `retry`: a clause or option is written once, and
/// a second one is an error at its keyword rather than a silent overwrite.
struct Once {
    seen: Vec<String>,
    /// What the keywords are: `clause`, `option`.
    kind: &'static str,
    /// Why a second one is wrong: `a step takes one`.
    rule: &'static str,
}

impl Once {
    fn new(kind: &'static str, rule: &'static str) -> Self {
        Once { seen: Vec::new(), kind, rule }
    }

    /// Records `keyword`, failing at it when it was already used.
    fn claim(&mut self, keyword: &Ident) -> syn::Result<()> {
        let word = keyword.to_string();
        if !self.seen.contains(&word) {
            self.seen.push(word);
            return Ok(());
        }
        let help = match word.as_str() {
            "depends" => "name every step in one: `depends a, b`",
            "if" => "join the conditions in one: `if a && b`",
            _ => self.rule,
        };
        Err(syn::Error::new(keyword.span(), format_args!("duplicate `{word}` {}; {help}", self.kind)))
    }
}

fn clause_help() -> String {
    let list: Vec<String> = CLAUSES.iter().map(|c| format!("`{c}`")).collect();
    format!("expected one of {}, or `;` to end the step", list.join(", "))
}

fn at_clause(input: ParseStream<'_>) -> bool {
    input.fork().call(Ident::parse_any).is_ok_and(|ident| CLAUSES.contains(&ident.to_string().as_str()))
}

fn parse_retry(input: ParseStream<'_>, keyword: Span) -> syn::Result<Retry> {
    let count =
        input.parse().map_err(|e| syn::Error::new(e.span(), "expected a retry count such as `retry 3`"))?;
    let mut retry =
        Retry { keyword, count, backoff: None, multiplier: None, max: None, jitter: false, on: Vec::new() };
    let mut seen = Once::new("option", "a `retry` takes one");
    loop {
        let fork = input.fork();
        let Ok(word) = fork.call(Ident::parse_any) else { return Ok(retry) };
        if !matches!(word.to_string().as_str(), "backoff" | "max" | "jitter" | "on") {
            return Ok(retry);
        }
        input.call(Ident::parse_any)?;
        seen.claim(&word)?;
        match word.to_string().as_str() {
            "backoff" => {
                retry.backoff = Some(input.parse()?);
                retry.multiplier = parse_multiplier(input)?;
            }
            "max" => retry.max = Some(input.parse()?),
            "on" => loop {
                let class = input.call(Ident::parse_any).map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected an error class after `on`: `retry 3 on timeout, rate_limited`",
                    )
                })?;
                retry.on.push(class);
                if !input.peek(Token![,]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            },
            _ => retry.jitter = true,
        }
    }
}

/// `x2` or `x1.5` after a backoff.
fn parse_multiplier(input: ParseStream<'_>) -> syn::Result<Option<(f64, Span)>> {
    let fork = input.fork();
    let Ok(word) = fork.call(Ident::parse_any) else { return Ok(None) };
    let text = word.to_string();
    let Some(int) = text.strip_prefix('x').filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Ok(None);
    };
    input.call(Ident::parse_any)?;
    let mut number = int.to_owned();
    if input.peek(Token![.]) && input.peek2(syn::LitInt) {
        input.parse::<Token![.]>()?;
        let frac: syn::LitInt = input.parse()?;
        number = format!("{number}.{}", frac.base10_digits());
    }
    let value = number
        .parse::<f64>()
        .map_err(|_| syn::Error::new(word.span(), "expected a backoff factor such as `x2` or `x1.5`"))?;
    Ok(Some((value, word.span())))
}

fn parse_on_error(input: ParseStream<'_>) -> syn::Result<OnError> {
    let what: Ident = input.call(Ident::parse_any).map_err(|e| {
        syn::Error::new(e.span(), "expected `skip`, `abort` or `fallback tool(…)` after `on_error`")
    })?;
    match what.to_string().as_str() {
        "skip" => Ok(OnError::Skip(what.span())),
        "abort" => Ok(OnError::Abort(what.span())),
        "fallback" => Ok(OnError::Fallback(what.span())),
        other => Err(syn::Error::new(
            what.span(),
            format_args!(
                "unknown `on_error` action `{other}`; expected `skip`, `abort` or `fallback tool(…)`"
            ),
        )),
    }
}

/// `tool(arg: value, …)` after `fallback` or `compensate`.
fn parse_call(input: ParseStream<'_>, after: &str) -> syn::Result<Call> {
    let tool = input.call(syn::Path::parse_mod_style).map_err(|e| {
        syn::Error::new(
            e.span(),
            format_args!("expected a tool call after `{after}`: `{after} tool(arg: value, …)`"),
        )
    })?;
    let content;
    parenthesized!(content in input);
    Ok(Call { tool, args: parse_args(&content)? })
}

/// `item in <<list>> [max N] [tolerate K]` after `for`.
fn parse_for(input: ParseStream<'_>) -> syn::Result<ForEach> {
    let help = "expected `for item in <<step.list>>`";
    let item: Ident = input.parse().map_err(|e| syn::Error::new(e.span(), help))?;
    input.parse::<Token![in]>().map_err(|e| syn::Error::new(e.span(), help))?;
    let mut tokens = Vec::new();
    while !input.is_empty() {
        let token: TokenTree = input.parse()?;
        let closes = punct(Some(&token), '>').is_some() && punct(tokens.last(), '>').is_some();
        tokens.push(token);
        if closes && tokens.len() > 3 {
            break;
        }
    }
    if !is_ref_start(&tokens) {
        let span = tokens.first().map_or_else(|| input.span(), TokenTree::span);
        return Err(syn::Error::new(
            span,
            format_args!("expected a list to run over: `for {item} in <<step.list>>`"),
        ));
    }
    let (list, _) = token_ref(&tokens)?;
    let mut for_each = ForEach { item, list, max: None, tolerate: None };
    let mut seen = Once::new("option", "a `for` takes one");
    loop {
        let fork = input.fork();
        let Ok(word) = fork.call(Ident::parse_any) else { return Ok(for_each) };
        let slot = match word.to_string().as_str() {
            "max" => &mut for_each.max,
            "tolerate" => &mut for_each.tolerate,
            _ => return Ok(for_each),
        };
        input.call(Ident::parse_any)?;
        seen.claim(&word)?;
        *slot = Some(input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format_args!("expected a whole number after `{word}`, such as `{word} 4`"),
            )
        })?);
    }
}

/// `X failed` or `X always` after `after`.
fn parse_after(input: ParseStream<'_>) -> syn::Result<(Ident, Ident)> {
    let help = "expected `after <step> failed` or `after <step> always`";
    let step: Ident = input.parse().map_err(|e| syn::Error::new(e.span(), help))?;
    let when: Ident = input.call(Ident::parse_any).map_err(|e| syn::Error::new(e.span(), help))?;
    match when.to_string().as_str() {
        "failed" | "always" => Ok((step, when)),
        other => Err(syn::Error::new(
            when.span(),
            format_args!(
                "unknown trigger `{other}`; expected `after {step} failed` or `after {step} always`"
            ),
        )),
    }
}

impl Parse for DurationLit {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::LitInt) {
            Ok(DurationLit::Int(input.parse()?))
        } else if input.peek(syn::LitFloat) {
            Ok(DurationLit::Float(input.parse()?))
        } else {
            Err(input.error("expected a duration such as `30s`, `500ms` or `2m`"))
        }
    }
}

/// Splits a value's tokens into pieces, finding `<<…>>` references.
fn value(tokens: Vec<TokenTree>) -> syn::Result<Value> {
    let first = tokens.first().map_or_else(Span::call_site, TokenTree::span);
    let last = tokens.last().map_or(first, TokenTree::span);
    Ok(Value { pieces: pieces(tokens)?, span: (first, last) })
}

fn pieces(tokens: Vec<TokenTree>) -> syn::Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_ref_start(&tokens[i..]) {
            let (r, used) = token_ref(&tokens[i..])?;
            out.push(Piece::Ref(r));
            i += used;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let inner = pieces(group.stream().into_iter().collect())?;
                out.push(Piece::Group(group.delimiter(), group.span(), inner));
            }
            TokenTree::Literal(lit) => {
                match syn::parse2::<LitStr>(TokenStream::from(TokenTree::Literal(lit.clone()))) {
                    Ok(s) if s.value().contains("<<") => {
                        let parts = string_parts(&s)?;
                        out.push(Piece::Str(s, parts));
                    }
                    _ => out.push(Piece::Token(tokens[i].clone())),
                }
            }
            other => out.push(Piece::Token(other.clone())),
        }
        i += 1;
    }
    Ok(out)
}

fn punct(token: Option<&TokenTree>, ch: char) -> Option<&proc_macro2::Punct> {
    match token {
        Some(TokenTree::Punct(p)) if p.as_char() == ch => Some(p),
        _ => None,
    }
}

/// `<` `<` followed by an identifier starts a reference.
fn is_ref_start(tokens: &[TokenTree]) -> bool {
    punct(tokens.first(), '<').is_some_and(|p| p.spacing() == Spacing::Joint)
        && punct(tokens.get(1), '<').is_some()
        && matches!(tokens.get(2), Some(TokenTree::Ident(_)))
}

/// Parses `<< root (.field | [index] | ["key"])* >>` and returns it with the tokens it used.
fn token_ref(tokens: &[TokenTree]) -> syn::Result<(StepRef, usize)> {
    let open = tokens[0].span();
    let TokenTree::Ident(root) = &tokens[2] else {
        return Err(syn::Error::new(open, "expected a step or input name after `<<`"));
    };
    let mut path = Vec::new();
    let mut i = 3;
    loop {
        match (tokens.get(i), tokens.get(i + 1)) {
            (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(field))) if p.as_char() == '.' => {
                path.push(Segment::Field(field.clone()));
                i += 2;
            }
            (Some(TokenTree::Punct(p)), Some(TokenTree::Punct(dollar)))
                if p.as_char() == '.' && dollar.as_char() == '$' =>
            {
                let Some(TokenTree::Ident(status)) = tokens.get(i + 2) else {
                    return Err(syn::Error::new(
                        dollar.span(),
                        "expected a status after `$`: `$succeeded`, `$failed`, `$timed_out`, `$skipped` or `$cancelled`",
                    ));
                };
                path.push(Segment::Status(status.clone()));
                i += 3;
            }
            (Some(TokenTree::Punct(p)), other) if p.as_char() == '.' => {
                let span = other.map_or(p.span(), TokenTree::span);
                return Err(syn::Error::new(span, "expected a field name after `.` in a `<<…>>` reference"));
            }
            (Some(TokenTree::Group(g)), _) if g.delimiter() == Delimiter::Bracket => {
                path.push(bracket_segment(g)?);
                i += 1;
            }
            _ => break,
        }
    }
    match (punct(tokens.get(i), '>'), punct(tokens.get(i + 1), '>')) {
        (Some(_), Some(close)) => {
            let r = StepRef { open, close: close.span(), root: root.clone(), path };
            Ok((r, i + 2))
        }
        _ => {
            let span = tokens.get(i).map_or(root.span(), TokenTree::span);
            Err(syn::Error::new(span, format_args!("expected `>>` to close the reference `<<{root}…`")))
        }
    }
}

fn bracket_segment(group: &proc_macro2::Group) -> syn::Result<Segment> {
    let span = group.span();
    let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
    let help = "expected an index such as `[0]` or `[-1]`, or a key such as `[\"name\"]`";
    match tokens.as_slice() {
        [TokenTree::Literal(lit)] => {
            let lit = syn::parse2::<syn::Lit>(TokenStream::from(TokenTree::Literal(lit.clone())))?;
            match lit {
                syn::Lit::Int(i) if i.suffix().is_empty() => Ok(Segment::Index(i.base10_parse()?, span)),
                syn::Lit::Str(s) => Ok(Segment::Key(s.value(), span)),
                _ => Err(syn::Error::new(span, help)),
            }
        }
        [TokenTree::Punct(minus), TokenTree::Literal(lit)] if minus.as_char() == '-' => {
            let int = syn::parse2::<syn::LitInt>(TokenStream::from(TokenTree::Literal(lit.clone())))
                .map_err(|_| syn::Error::new(span, help))?;
            Ok(Segment::Index(-int.base10_parse::<i64>()?, span))
        }
        _ => Err(syn::Error::new(span, help)),
    }
}

/// Splits a string literal into text and `<<…>>` references, with the grammar the runtime uses.
///
/// `<<` followed by a letter or `_` starts a reference; any other `<<` is text.
fn string_parts(lit: &LitStr) -> syn::Result<Vec<StrPart>> {
    let text = lit.value();
    let parts = workflow_core::parse::dsl_string(&text).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format_args!("invalid reference in this string, at character {}: {}", e.column, e.message),
        )
    })?;
    Ok(parts
        .into_iter()
        .map(|part| match part {
            workflow_core::parse::DslPart::Text(t) => StrPart::Text(t),
            workflow_core::parse::DslPart::Ref(path) => StrPart::Ref(string_ref(&path, lit.span())),
        })
        .collect())
}

/// A reference read from a string literal, spanned at the literal.
fn string_ref(path: &workflow_core::ast::Path, span: Span) -> StepRef {
    use workflow_core::ast::Segment as S;
    // Fields are located at the literal but marked as coming from the macro, so that rustc does
    // not suggest edits that would replace the whole literal with a field name.
    let field_span = Span::mixed_site().located_at(span);
    let path_segments = path
        .segments
        .iter()
        .map(|segment| match segment {
            S::Field(name) => match name.strip_prefix('$') {
                // Reported by the rule book: a status test belongs in a condition.
                Some(status) => Segment::Status(ident(status, field_span)),
                None => Segment::Field(ident(name, field_span)),
            },
            S::Index(i) => Segment::Index(*i, span),
            S::Key(k) => Segment::Key(k.clone(), span),
        })
        .collect();
    StepRef { open: span, close: span, root: ident(&path.root, span), path: path_segments }
}

/// An identifier (a raw one for a keyword such as `type`). `name` comes from the grammar's
/// `[A-Za-z_][A-Za-z0-9_]*`, which every branch here accepts.
fn ident(name: &str, span: Span) -> Ident {
    match syn::parse_str::<Ident>(name) {
        Ok(mut i) => {
            i.set_span(span);
            i
        }
        Err(_) if matches!(name, "_" | "self" | "super" | "crate" | "Self") => Ident::new(name, span),
        Err(_) => Ident::new_raw(name, span),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::Workflows;

    fn error(tokens: proc_macro2::TokenStream) -> String {
        match syn::parse2::<Workflows>(tokens) {
            Ok(_) => String::from("no error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_repeated_clause_is_an_error() {
        let cases = [
            (
                quote!(w() { a = t() retry 2 timeout 1s retry 3; }),
                "duplicate `retry` clause; a step takes one",
            ),
            (quote!(w() { a = t() timeout 1s timeout 2s; }), "duplicate `timeout` clause; a step takes one"),
            (
                quote!(w() { a = t() on_error skip on_error abort; }),
                "duplicate `on_error` clause; a step takes one",
            ),
            (
                quote!(w() { a = t() if <<x>> if <<y>>; }),
                "duplicate `if` clause; join the conditions in one: `if a && b`",
            ),
            (
                quote!(w() { a = t() depends b depends c; }),
                "duplicate `depends` clause; name every step in one: `depends a, b`",
            ),
            (
                quote!(w() { a = t() retry 2 backoff 1s max 5s backoff 2s; }),
                "duplicate `backoff` option; a `retry` takes one",
            ),
        ];
        for (tokens, message) in cases {
            assert_eq!(error(tokens), message);
        }
    }

    #[test]
    fn the_resilience_clauses_cut_short_are_errors_not_panics() {
        let cases = [
            (quote!(w() { a = t() for x in; }), "expected a list to run over: `for x in <<step.list>>`"),
            (quote!(w() { a = t() for x in <<; }), "expected a list to run over: `for x in <<step.list>>`"),
            (quote!(w() { a = t() for in <<b.c>>; }), "expected `for item in <<step.list>>`"),
            (
                quote!(w() { a = t() for x in <<b.c>> max; }),
                "expected a whole number after `max`, such as `max 4`",
            ),
            (quote!(w() { a = t() after; }), "expected `after <step> failed` or `after <step> always`"),
            (quote!(w() { a = t() after b; }), "expected `after <step> failed` or `after <step> always`"),
            (
                quote!(w() { a = t() on_error fallback; }),
                "expected a tool call after `fallback`: `fallback tool(arg: value, …)`",
            ),
            (quote!(w() { a = t() compensate u; }), "expected parentheses"),
            (
                quote!(w() { a = t() retry 3 on; }),
                "expected an error class after `on`: `retry 3 on timeout, rate_limited`",
            ),
            (
                quote!(w() { a = t(x: <<b.$>>); }),
                "expected a status after `$`: `$succeeded`, `$failed`, `$timed_out`, `$skipped` or `$cancelled`",
            ),
            (
                quote!(#[schedule(fast)] w() { a = t(); }),
                "unknown schedule `fast`; expected `eager` or `levels`",
            ),
        ];
        for (tokens, message) in cases {
            assert_eq!(error(tokens.clone()), message, "{tokens}");
        }
    }

    #[test]
    fn each_clause_once_parses() {
        let tokens = quote!(w() { a = t() depends b, c if <<x>> retry 2 backoff 1s max 5s jitter timeout 1s on_error skip; });
        assert_eq!(error(tokens), "no error");
    }
}
