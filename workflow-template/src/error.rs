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
        let before = src.get(..offset).unwrap_or(src);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self { message: message.into(), offset, line, column }
    }

    pub(crate) fn from_pest(src: &str, err: &pest::error::Error<Rule>) -> Self {
        let offset = match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let found = found(src, offset);
        let message = match &err.variant {
            ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
                let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
                names.sort_unstable();
                names.dedup();
                match names.as_slice() {
                    [] => format!("unexpected {found}"),
                    [one] => format!("expected {one}, found {found}"),
                    [init @ .., last] => format!("expected {} or {last}, found {found}", init.join(", ")),
                }
            }
            ErrorVariant::ParsingError { .. } => format!("unexpected {found}"),
            ErrorVariant::CustomError { message } => message.clone(),
        };
        Self::at(src, offset, message)
    }
}

/// What stands at `offset`, for "found …".
fn found(src: &str, offset: usize) -> String {
    let rest = src.get(offset..).unwrap_or_default().trim_start();
    if rest.is_empty() {
        return "the end of the text".to_owned();
    }
    let token: String = rest.chars().take_while(|c| !c.is_whitespace()).take(12).collect();
    format!("`{token}`")
}

/// Rules as a user writes them (pest_meta's `rename_meta_rule`).
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::infix_chain | Rule::unary | Rule::braced => "a value",
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
        Rule::or_op | Rule::and_op => "an operator such as `&&`",
        Rule::eq_op | Rule::ne_op | Rule::lt_op | Rule::le_op | Rule::gt_op | Rule::ge_op => {
            "an operator such as `==`"
        }
        Rule::prefix_op | Rule::not_op | Rule::neg_op => "a value",
        Rule::EOI => "the end of the expression",
        Rule::text | Rule::dsl_text => "text",
        Rule::workflow_def => "a workflow `name(input: Type) { … }`",
        Rule::step_def => "a step `id = tool(arg: value);`",
        Rule::args | Rule::arg => "an argument `name: value`",
        Rule::arg_value | Rule::rust_string | Rule::signed_number | Rule::angle_ref => {
            "a value: `<<reference>>`, a string, a number, `true` or `false`"
        }
        Rule::depends_clause
        | Rule::if_clause
        | Rule::retry_clause
        | Rule::timeout_clause
        | Rule::on_error_clause => "a clause (`depends`, `if`, `retry`, `timeout`, `on_error`) or `;`",
        Rule::duration => "a duration such as `30s`",
        Rule::retry_count => "a retry count such as `3`",
        Rule::on_error_action => "`skip` or `abort`",
        Rule::inputs | Rule::input_decl => "an input `name: Type`",
        Rule::rust_type | Rule::type_path | Rule::ident_any => "a name",
        Rule::doc_line | Rule::visibility => "a workflow",
        _ => return None,
    })
}
