//! Syntax errors, with the line and column where they are.

use pest::error::{ErrorVariant, InputLocation};

use crate::parse::Rule;

/// A template or expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct ParseError {
    /// What is wrong, e.g. ``expected a value, found `}}` ``.
    pub message: String,
    /// Byte offset in the source.
    pub offset: usize,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl ParseError {
    /// An error at byte `offset` of `src`.
    pub fn at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(src.len());
        let boundary = (0..=offset).rev().find(|&i| src.is_char_boundary(i)).unwrap_or(0);
        let before = &src[..boundary];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self { message: message.into(), offset, line, column }
    }

    pub(crate) fn from_pest(src: &str, err: &pest::error::Error<Rule>) -> Self {
        let offset = match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        if let Some((quote, at)) = unclosed_quote(src) {
            if at <= offset {
                return Self::at(src, at, format!("unclosed string: expected a closing `{quote}`"));
            }
        }
        if let Some(name) = argument_to_plain_filter(src, offset) {
            return Self::at(src, offset, format!("filter `{name}` takes no argument"));
        }
        if let Some((open, close, at)) = never_closed(src, offset) {
            let found = found(src, at);
            return Self::at(src, at, format!("unclosed `{open}`: expected `{close}`, found {found}"));
        }
        let found = found(src, offset);
        let message = match &err.variant {
            ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
                let operand = positives
                    .iter()
                    .any(|r| matches!(r, Rule::path | Rule::ident | Rule::expr | Rule::unary));
                let mut names: Vec<&str> = positives
                    .iter()
                    .filter_map(|r| if operand && is_operand(*r) { Some("a value") } else { rule_name(*r) })
                    .collect();
                names.sort_unstable();
                names.dedup();
                let expected = match names.as_slice() {
                    [] => String::new(),
                    [one] => (*one).to_owned(),
                    [init @ .., last] => format!("{} or {last}", init.join(", ")),
                };
                match unclosed_opener(src, offset) {
                    Some((open, close))
                        if !operand
                            && expected.contains("an operator such as")
                            && found_is_closer_or_end(src, offset, close) =>
                    {
                        format!("unclosed `{open}`: expected `{close}`, found {found}")
                    }
                    _ if expected.is_empty() => format!("unexpected {found}"),
                    _ => format!("expected {expected}, found {found}"),
                }
            }
            ErrorVariant::ParsingError { .. } => format!("unexpected {found}"),
            ErrorVariant::CustomError { message } => message.clone(),
        };
        Self::at(src, offset, message)
    }
}

/// The filter before a `:` at `offset`, when it is one that takes no argument (`|upper:'x'`).
fn argument_to_plain_filter(src: &str, offset: usize) -> Option<&str> {
    if !src.get(offset..)?.starts_with(':') {
        return None;
    }
    let before = src.get(..offset)?.trim_end();
    let name_start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let name = &before[name_start..];
    let bar = before[..name_start].trim_end().ends_with('|');
    let plain = crate::ast::FilterKind::from_name(name).is_some_and(|k| k.takes_arg() == Some(false));
    (bar && plain).then_some(name)
}

/// Rules that stand for a value where an operand is expected.
fn is_operand(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::path
            | Rule::ident
            | Rule::string
            | Rule::number
            | Rule::boolean
            | Rule::null
            | Rule::braced
            | Rule::angle_ref
            | Rule::prefix_op
            | Rule::signed_number
            | Rule::expr
            | Rule::unary
            | Rule::infix_chain
    )
}

/// The first quote of `src` that is never closed, when the text ends inside a string.
fn unclosed_quote(src: &str) -> Option<(char, usize)> {
    let mut open: Option<(char, usize)> = None;
    let mut chars = src.char_indices();
    let mut in_expr = false;
    let mut prev = '\0';
    while let Some((i, c)) = chars.next() {
        match open {
            Some((q, _)) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    open = None;
                }
            }
            None => {
                if c == '{' && prev == '{' {
                    in_expr = true;
                } else if c == '}' && prev == '}' {
                    in_expr = false;
                } else if (c == '\'' || c == '"') && (in_expr || !src.contains("{{")) {
                    open = Some((c, i));
                }
            }
        }
        prev = c;
    }
    open
}

/// When a `[` or `(` stands at `offset` and is not closed before the expression ends: the
/// opener, its closer, and where the closer was due (the `}}` or the end of the text).
fn never_closed(src: &str, offset: usize) -> Option<(&'static str, &'static str, usize)> {
    let rest = src.get(offset..)?;
    let (open, close) = match rest.as_bytes().first()? {
        b'[' => ("[", "]"),
        b'(' => ("(", ")"),
        _ => return None,
    };
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
        } else {
            match b {
                b'\'' | b'"' => quote = Some(b),
                b'[' | b'(' => depth += 1,
                b']' | b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return None;
                    }
                }
                b'}' if rest[i..].starts_with("}}") => break,
                _ => {}
            }
        }
        i += 1;
    }
    Some((open, close, offset + i))
}

/// The innermost `{{`, `(` or `[` open at `offset`, with its closer.
fn unclosed_opener(src: &str, offset: usize) -> Option<(&'static str, &'static str)> {
    let mut stack: Vec<(&'static str, &'static str)> = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < offset.min(bytes.len()) {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match (b, bytes.get(i + 1)) {
            (b'{', Some(b'{')) => {
                stack.push(("{{", "}}"));
                i += 1;
            }
            (b'}', Some(b'}')) => {
                stack.pop();
                i += 1;
            }
            (b'(', _) => stack.push(("(", ")")),
            (b'[', _) => stack.push(("[", "]")),
            (b')' | b']', _) => {
                stack.pop();
            }
            (b'\'' | b'"', _) if !stack.is_empty() => quote = Some(b),
            _ => {}
        }
        i += 1;
    }
    stack.pop()
}

/// Whether the text at `offset` ends, or is a closer other than `close`.
fn found_is_closer_or_end(src: &str, offset: usize, close: &str) -> bool {
    let rest = src.get(offset..).unwrap_or_default().trim_start();
    rest.is_empty() || (["}}", "}", ")", "]"].iter().any(|c| rest.starts_with(c)) && !rest.starts_with(close))
}

/// What stands at `offset`, for "found …": one token.
fn found(src: &str, offset: usize) -> String {
    let rest = src.get(offset..).unwrap_or_default().trim_start();
    let Some(first) = rest.chars().next() else { return "the end of the text".to_owned() };
    let token: String = if first == '\'' || first == '"' {
        let end = rest[1..].find(first).map_or(rest.len(), |i| i + 2);
        rest[..end].chars().take(40).collect()
    } else if first.is_alphanumeric() || first == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').take(40).collect()
    } else if ["{{", "}}", "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "//"]
        .iter()
        .any(|t| rest.starts_with(t))
    {
        rest.chars().take(2).collect()
    } else {
        first.to_string()
    };
    format!("`{token}`")
}

/// Rules as a user writes them (pest_meta's `rename_meta_rule`).
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::infix_chain | Rule::unary | Rule::braced | Rule::angle_ref | Rule::filter_arg => {
            "a value"
        }
        Rule::filter_name | Rule::arg_filter_name => "a filter such as `|default:'x'`",
        Rule::ident_any => "a name such as `step.field`",
        Rule::path | Rule::ident => "a name such as `step.field`",
        Rule::field => "`.field`",
        Rule::index => "`[index]`",
        Rule::int => "an index such as `0`",
        Rule::string => "a string",
        Rule::number => "a number",
        Rule::boolean | Rule::null | Rule::keyword => "a value",
        Rule::filter => "a filter such as `|default:'x'`",
        Rule::interpolation => "`{{`",
        Rule::dsl_interpolation => "`<<reference>>`",
        Rule::ternary_then => "`?`",
        Rule::ternary_else => "`:`",
        Rule::or_op
        | Rule::and_op
        | Rule::eq_op
        | Rule::ne_op
        | Rule::lt_op
        | Rule::le_op
        | Rule::gt_op
        | Rule::ge_op => "an operator such as `&&` or `==`",
        Rule::prefix_op | Rule::not_op | Rule::neg_op => "a value",
        Rule::EOI => "the end of the expression",
        Rule::text | Rule::dsl_text => "text",
        Rule::workflow_def => "a workflow `name(input: Type) { … }`",
        Rule::step_def => "a step `id = tool(arg: value);`",
        Rule::args | Rule::arg => "an argument `name: value`",
        Rule::arg_value | Rule::rust_string => {
            "a value: `<<reference>>`, a string, a number, `true` or `false`"
        }
        Rule::signed_number => "a number",
        Rule::depends_clause
        | Rule::if_clause
        | Rule::retry_clause
        | Rule::timeout_clause
        | Rule::on_error_clause => "a clause (`depends`, `if`, `retry`, `timeout`, `on_error`) or `;`",
        Rule::duration => "a duration such as `30s`",
        Rule::retry_count => "a retry count such as `3`",
        Rule::on_error_action => "`skip` or `abort`",
        Rule::inputs | Rule::input_decl => "an input `name: Type`",
        Rule::rust_type | Rule::type_path => "a name",
        Rule::doc_line | Rule::visibility => "a workflow",
        _ => return None,
    })
}
