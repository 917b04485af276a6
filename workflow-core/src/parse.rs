//! Parsing: the only place where pest's `Pair`s turn into the syntax tree.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::{BinOp, Expr, Filter, FilterKind, Literal, Part, Path, Segment, Span, Template};
use crate::error::ParseError;

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "src/grammar.pest"]
    pub(crate) struct Grammar;
}

pub(crate) use grammar::{Grammar, Rule};

/// How deeply brackets, braces and prefix operators may nest.
pub const MAX_DEPTH: usize = 64;

/// The longest source accepted, in bytes.
pub const MAX_LEN: usize = 1 << 20;

/// Parses a template: text with `{{ expression }}` interpolations.
pub fn template(src: &str) -> Result<Template, ParseError> {
    check_bounds(src, Mode::Template)?;
    let mut pairs = Grammar::parse(Rule::template, src).map_err(|e| ParseError::from_pest(src, &e))?;
    let parts = children(&mut pairs)
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|pair| match pair.as_rule() {
            Rule::text => Ok(Part::Text(pair.as_str().to_owned())),
            _ => Ok(Part::Expr(expr(src, first(pair))?)),
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Template { parts })
}

/// Parses a condition: an expression in which `{{ … }}` may wrap operands.
pub fn condition(src: &str) -> Result<Expr, ParseError> {
    check_bounds(src, Mode::Expression)?;
    let mut pairs = Grammar::parse(Rule::condition, src).map_err(|e| ParseError::from_pest(src, &e))?;
    let condition = pairs.next().ok_or_else(|| ParseError::at(src, 0, "expected an expression"))?;
    expr(src, first(condition))
}

/// Parses a string of `workflow!` source: text with `<<reference>>` interpolations, each a path.
pub fn dsl_string(src: &str) -> Result<Vec<DslPart>, ParseError> {
    check_bounds(src, Mode::Expression)?;
    let mut pairs = Grammar::parse(Rule::dsl_string, src).map_err(|e| ParseError::from_pest(src, &e))?;
    children(&mut pairs)
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|pair| match pair.as_rule() {
            Rule::dsl_text => Ok(DslPart::Text(pair.as_str().to_owned())),
            _ => Ok(DslPart::Ref(path(src, first(pair))?)),
        })
        .collect()
}

/// A piece of a `workflow!` string literal.
#[derive(Debug, Clone, PartialEq)]
pub enum DslPart {
    /// Literal text.
    Text(String),
    /// A `<<reference>>`.
    Ref(Path),
}

/// The children of the top rule (a successful parse has exactly one top pair).
fn children<'a>(pairs: &mut Pairs<'a, Rule>) -> impl Iterator<Item = Pair<'a, Rule>> {
    pairs.next().into_iter().flat_map(Pair::into_inner)
}

/// The first inner pair: rules that wrap exactly one child.
fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    let outer = pair.clone();
    pair.into_inner().next().unwrap_or(outer)
}

fn span(pair: &Pair<'_, Rule>) -> Span {
    Span { start: pair.as_span().start(), end: pair.as_span().end() }
}

fn pratt() -> PrattParser<Rule> {
    PrattParser::new()
        .op(Op::infix(Rule::or_op, Assoc::Left))
        .op(Op::infix(Rule::and_op, Assoc::Left))
        .op(Op::infix(Rule::eq_op, Assoc::Left) | Op::infix(Rule::ne_op, Assoc::Left))
        .op(Op::infix(Rule::lt_op, Assoc::Left)
            | Op::infix(Rule::le_op, Assoc::Left)
            | Op::infix(Rule::gt_op, Assoc::Left)
            | Op::infix(Rule::ge_op, Assoc::Left))
}

/// An expression pair as found by other parsers of this crate.
pub(crate) fn expr_from(src: &str, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
    expr(src, pair)
}

/// A path pair as found by other parsers of this crate.
pub(crate) fn path_from(src: &str, pair: Pair<'_, Rule>) -> Result<Path, ParseError> {
    path(src, pair)
}

/// `expr`: an infix chain with an optional ternary.
fn expr(src: &str, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
    if pair.as_rule() != Rule::expr {
        return operand(src, pair);
    }
    let mut inner = pair.into_inner();
    let chain = inner.next().ok_or_else(|| ParseError::at(src, 0, "expected an expression"))?;
    let cond = infix_chain(src, chain)?;
    match (inner.next(), inner.next(), inner.next(), inner.next()) {
        (Some(_then), Some(yes), Some(_else), Some(no)) => {
            Ok(Expr::Ternary(Box::new(cond), Box::new(expr(src, yes)?), Box::new(expr(src, no)?)))
        }
        _ => Ok(cond),
    }
}

fn infix_chain(src: &str, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
    pratt()
        .map_primary(|p| unary(src, p))
        .map_infix(|lhs, op, rhs| {
            let op = match op.as_rule() {
                Rule::or_op => BinOp::Or,
                Rule::and_op => BinOp::And,
                Rule::eq_op => BinOp::Eq,
                Rule::ne_op => BinOp::Ne,
                Rule::lt_op => BinOp::Lt,
                Rule::le_op => BinOp::Le,
                Rule::gt_op => BinOp::Gt,
                _ => BinOp::Ge,
            };
            Ok(Expr::Binary(Box::new(lhs?), op, Box::new(rhs?)))
        })
        .parse(pair.into_inner())
}

/// `unary`: prefix operators, an operand, filters; built without recursion.
fn unary(src: &str, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
    let mut prefixes = Vec::new();
    let mut value = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::prefix_op => prefixes.push(first(part).as_rule()),
            Rule::filter => {
                let base = value
                    .take()
                    .ok_or_else(|| ParseError::at(src, span(&part).start, "a filter needs a value"))?;
                value = Some(Expr::Filter(Box::new(base), filter(src, part)?));
            }
            _ => value = Some(operand(src, part)?),
        }
    }
    let mut value = value.ok_or_else(|| ParseError::at(src, 0, "expected a value"))?;
    for op in prefixes.into_iter().rev() {
        value = if op == Rule::not_op { Expr::Not(Box::new(value)) } else { Expr::Neg(Box::new(value)) };
    }
    Ok(value)
}

fn operand(src: &str, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
    let at = span(&pair);
    Ok(match pair.as_rule() {
        Rule::path => Expr::Path(path(src, pair)?),
        Rule::string => Expr::Literal(Literal::Str(unescape(first(pair).as_str())), at),
        Rule::number | Rule::signed_number => {
            let text = pair.as_str();
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                return Err(ParseError::at(src, span(&pair).start, format!("number `{text}` is too large")));
            }
            Expr::Literal(Literal::Number(text.to_owned()), at)
        }
        Rule::filter_arg => operand(src, first(pair))?,
        Rule::boolean => Expr::Literal(Literal::Bool(pair.as_str() == "true"), at),
        Rule::null => Expr::Literal(Literal::Null, at),
        Rule::braced => expr(src, first(pair))?,
        Rule::angle_ref => Expr::Path(path(src, first(pair))?),
        _ => expr(src, pair)?,
    })
}

fn filter(src: &str, pair: Pair<'_, Rule>) -> Result<Filter, ParseError> {
    let mut inner = pair.into_inner();
    let name = inner.next().ok_or_else(|| ParseError::at(src, 0, "expected a filter name"))?;

    let at = span(&name);
    let kind = FilterKind::from_name(name.as_str()).ok_or_else(|| {
        let known: Vec<String> = FilterKind::ALL.iter().map(|(n, _)| format!("`{n}`")).collect();
        ParseError::at(
            src,
            at.start,
            format!("unknown filter `{}`; expected one of {}", name.as_str(), known.join(", ")),
        )
    })?;
    let arg = inner.next().map(|a| operand(src, a)).transpose()?.map(Box::new);
    match (kind.takes_arg(), &arg) {
        (Some(true), None) => Err(ParseError::at(
            src,
            at.end,
            format!("filter `{}` needs an argument, as in `|{0}:'value'`", name.as_str()),
        )),
        (Some(false), Some(_)) => {
            Err(ParseError::at(src, at.end, format!("filter `{}` takes no argument", name.as_str())))
        }
        _ => Ok(Filter { kind, arg, span: at }),
    }
}

fn path(src: &str, pair: Pair<'_, Rule>) -> Result<Path, ParseError> {
    let at = span(&pair);
    let mut inner = pair.into_inner();
    let root = inner.next().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let mut segments = Vec::new();
    for segment in inner {
        let rule = segment.as_rule();
        let value = first(segment);
        segments.push(match (rule, value.as_rule()) {
            (Rule::field, _) => Segment::Field(value.as_str().to_owned()),
            (_, Rule::int) => Segment::Index(value.as_str().parse().map_err(|_| {
                ParseError::at(src, span(&value).start, format!("index `{}` is too large", value.as_str()))
            })?),
            _ => Segment::Key(unescape(first(value).as_str())),
        });
    }
    Ok(Path { root, segments, span: at })
}

/// Resolves `\n`, `\t`, `\\`, `\'`, `\"`; any other escaped character stands for itself.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Only the inside of `{{ … }}` is an expression.
    Template,
    /// The whole source is an expression.
    Expression,
}

/// How many operators and filters one expression may chain.
pub const MAX_OPERATORS: usize = 256;

/// Rejects sources too long, nested too deeply or chaining too many operators before the
/// recursive parser and evaluator see them, so no input can exhaust the stack.
///
/// Nesting counts brackets, braces, `{{`, each `?` of a ternary (until its group closes) and runs
/// of prefix operators.
fn check_bounds(src: &str, mode: Mode) -> Result<(), ParseError> {
    if src.len() > MAX_LEN {
        let noun = if mode == Mode::Template { "template" } else { "condition" };
        return Err(ParseError::at(src, MAX_LEN, format!("{noun} longer than {MAX_LEN} bytes")));
    }
    let bytes = src.as_bytes();
    // One entry per open group: the `?`s seen in it.
    let mut groups: Vec<usize> = Vec::new();
    let mut ternaries = 0usize;
    let mut operators = 0usize;
    let mut in_expr = mode == Mode::Expression;
    let mut quote: Option<u8> = None;
    let mut prefix_run = 0usize;
    let mut i = 0;
    let too_deep =
        |at: usize| ParseError::at(src, at, format!("expression nested deeper than {MAX_DEPTH} levels"));
    while i < bytes.len() {
        let b = bytes[i];
        let pair = bytes.get(i..i + 2);
        if !in_expr {
            if pair == Some(b"{{") {
                in_expr = true;
                groups.clear();
                groups.push(0);
                (ternaries, operators) = (0, 0);
                i += 2;
                continue;
            }
            i += 1;
            continue;
        }
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'(' | b'[' | b'{' => groups.push(0),
            b')' | b']' | b'}' => ternaries -= groups.pop().unwrap_or(0).min(ternaries),
            b'?' => {
                ternaries += 1;
                if let Some(last) = groups.last_mut() {
                    *last += 1;
                }
            }
            b'|' | b'&' | b'=' | b'<' | b'>' => {
                let doubled = matches!(pair, Some(b"||" | b"&&" | b"==" | b"<=" | b">=" | b"!="));
                operators += 1;
                if doubled {
                    i += 1;
                }
            }
            _ => {}
        }
        if mode == Mode::Template && groups.is_empty() {
            in_expr = false;
        }
        prefix_run = if b == b'!' || b == b'-' {
            prefix_run + 1
        } else if b.is_ascii_whitespace() {
            prefix_run
        } else {
            0
        };
        if groups.len() + ternaries > MAX_DEPTH || prefix_run > MAX_DEPTH {
            return Err(too_deep(i));
        }
        if operators > MAX_OPERATORS {
            return Err(ParseError::at(
                src,
                i,
                format!("expression chains more than {MAX_OPERATORS} operators and filters"),
            ));
        }
        i += 1;
    }
    Ok(())
}
