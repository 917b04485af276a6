//! Evaluation of templates and expressions against JSON values.
//!
//! Safe by construction: evaluation walks the syntax tree (no code runs), never parses a value
//! as a template (a step output containing `{{…}}` stays text), recurses only as deep as the
//! parser allowed, and stops with an error when a string it builds passes [`Limits::max_output`].

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Number, Value};
use workflow_core::ast::{BinOp, Expr, FilterKind, Literal, Part, Path, Segment, Span, Template};

/// Where names are looked up: workflow inputs, variables, step results.
pub trait Scope {
    /// The value of a root name such as `repo` or `list_issues`.
    fn lookup(&self, name: &str) -> Option<&Value>;

    /// Names in scope, for "did you mean" hints.
    fn names(&self) -> Vec<&str> {
        Vec::new()
    }

    /// How the step `name` ended, for a condition that tests it (`{{name.$failed}}`); `None`
    /// when it is no step that has ended.
    fn status(&self, name: &str) -> Option<workflow_core::graph::Status> {
        let _ = name;
        None
    }
}

/// `true` and `false`, for status tests, which have no value in a scope to borrow.
static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

impl Scope for serde_json::Map<String, Value> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
    fn names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

impl Scope for Value {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
    fn names(&self) -> Vec<&str> {
        self.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }
}

/// Bounds on evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest string a template, `join` or `json` may produce, in bytes.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_output: 16 << 20 }
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
    /// Where, in the template's source.
    pub span: Span,
    /// `true` when a name, field, index or key is missing (what `|default` replaces).
    pub missing: bool,
}

impl EvalError {
    fn new(span: Span, message: impl Into<String>) -> Self {
        Self { message: message.into(), span, missing: false }
    }
    fn missing(span: Span, message: impl Into<String>) -> Self {
        Self { message: message.into(), span, missing: true }
    }
}

/// Renders a template: the typed value of a lone `{{ … }}`, otherwise a string.
pub fn render(template: &Template, scope: &dyn Scope, limits: Limits) -> Result<Value, EvalError> {
    if let Some(expr) = template.single() {
        return eval(expr, scope, limits).map(Cow::into_owned);
    }
    let guess: usize = template.parts.iter().map(|p| if let Part::Text(t) = p { t.len() } else { 16 }).sum();
    let mut out = String::with_capacity(guess.min(limits.max_output));
    for part in &template.parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Expr(expr) => write_expr(&mut out, expr, scope, limits)?,
        }
        if out.len() > limits.max_output {
            return Err(EvalError::new(Span::default(), too_long(limits)));
        }
    }
    Ok(Value::String(out))
}

/// Writes an expression's text, without building intermediate values for string literals and
/// the branches of a ternary.
fn write_expr(out: &mut String, expr: &Expr, scope: &dyn Scope, limits: Limits) -> Result<(), EvalError> {
    match expr {
        Expr::Literal(Literal::Str(s), _) => out.push_str(s),
        Expr::Ternary(c, yes, no) => {
            let branch = if truthy(&*eval(c, scope, limits)?) { yes } else { no };
            write_expr(out, branch, scope, limits)?;
        }
        _ => write_text(out, &*eval(expr, scope, limits)?),
    }
    Ok(())
}

/// Renders a template to text (a lone `{{ … }}` of a string gives that string).
pub fn render_text(template: &Template, scope: &dyn Scope, limits: Limits) -> Result<String, EvalError> {
    Ok(match render(template, scope, limits)? {
        Value::String(s) => s,
        other => text_of(&other),
    })
}

fn too_long(limits: Limits) -> String {
    format!("the output is longer than the limit of {} bytes", limits.max_output)
}

/// A value as interpolated text: strings without quotes, `null` as nothing, the rest as JSON.
pub fn text_of(value: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, value);
    out
}

pub(crate) fn write_text(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// JSON truthiness: `null`, `false`, `0`, `""`, `[]` and `{}` are false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Evaluates an expression.
pub fn eval<'a>(expr: &Expr, scope: &'a dyn Scope, limits: Limits) -> Result<Cow<'a, Value>, EvalError> {
    match expr {
        Expr::Literal(lit, _) => Ok(Cow::Owned(literal(lit))),
        Expr::Path(path) => resolve(path, scope).map(Cow::Borrowed),
        Expr::Not(e) => Ok(Cow::Owned(Value::Bool(!truthy(&*eval(e, scope, limits)?)))),
        Expr::Neg(e) => {
            let value = eval(e, scope, limits)?;
            negate(&value)
                .ok_or_else(|| EvalError::new(span_of(e), format!("cannot negate {}", kind(&value))))
        }
        Expr::Binary(a, op, b) => binary(a, *op, b, scope, limits),
        Expr::Ternary(c, yes, no) => {
            if truthy(&*eval(c, scope, limits)?) {
                eval(yes, scope, limits)
            } else {
                eval(no, scope, limits)
            }
        }
        Expr::Filter(e, filter) => {
            if filter.kind == FilterKind::Default {
                if let Expr::Path(path) = &**e {
                    // A miss that `default` replaces builds no message.
                    return match lookup(path, scope) {
                        Ok(v) if !v.is_null() => Ok(Cow::Borrowed(v)),
                        Ok(_) => default_arg(filter, scope, limits),
                        Err(stop) if is_missing(path, scope, stop) => default_arg(filter, scope, limits),
                        Err(stop) => Err(explain(path, scope, stop)),
                    };
                }
                return match eval(e, scope, limits) {
                    Ok(v) if !v.is_null() => Ok(v),
                    Ok(_) => default_arg(filter, scope, limits),
                    Err(err) if err.missing => default_arg(filter, scope, limits),
                    Err(err) => Err(err),
                };
            }
            let value = eval(e, scope, limits)?;
            let arg = filter.arg.as_ref().map(|a| eval(a, scope, limits)).transpose()?;
            apply(filter.kind, &value, arg.as_deref(), filter.span, limits).map(Cow::Owned)
        }
    }
}

fn default_arg<'a>(
    filter: &workflow_core::ast::Filter,
    scope: &'a dyn Scope,
    limits: Limits,
) -> Result<Cow<'a, Value>, EvalError> {
    match &filter.arg {
        Some(arg) => eval(arg, scope, limits),
        None => Ok(Cow::Owned(Value::Null)),
    }
}

fn literal(lit: &Literal) -> Value {
    match lit {
        Literal::Str(s) => Value::String(s.clone()),
        Literal::Number(n) => number(n),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    text.parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
}

fn negate(value: &Value) -> Option<Cow<'static, Value>> {
    let n = value.as_number()?;
    let negated = match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => match i.checked_neg() {
            Some(neg) => Value::from(neg),
            None => Value::from(i.unsigned_abs()),
        },
        (None, Some(u)) if u <= i64::MAX as u64 + 1 => Value::from(0i64.wrapping_sub_unsigned(u)),
        _ => Value::Number(Number::from_f64(-n.as_f64()?)?),
    };
    Some(Cow::Owned(negated))
}

/// Follows a path through the scope.
pub fn resolve<'a>(path: &Path, scope: &'a dyn Scope) -> Result<&'a Value, EvalError> {
    lookup(path, scope).map_err(|stop| explain(path, scope, stop))
}

/// Where a lookup stopped: the segment it could not take (`None`: the root name).
#[derive(Debug, Clone, Copy)]
struct Stop {
    segment: Option<usize>,
}

/// Follows a path without building any message: the fast path of every reference.
fn lookup<'a>(path: &Path, scope: &'a dyn Scope) -> Result<&'a Value, Stop> {
    if let Some(test) = path.status_test() {
        let status = scope.status(&path.root).ok_or(Stop { segment: None })?;
        return Ok(if status.test(test).ok_or(Stop { segment: Some(0) })? { &TRUE } else { &FALSE });
    }
    let mut value = scope.lookup(&path.root).ok_or(Stop { segment: None })?;
    for (k, segment) in path.segments.iter().enumerate() {
        let next = match (segment, value) {
            (Segment::Field(name) | Segment::Key(name), Value::Object(map)) => map.get(name),
            (Segment::Index(i), Value::Array(items)) => {
                let at = if *i < 0 { (items.len() as i64).checked_add(*i) } else { Some(*i) };
                at.and_then(|at| usize::try_from(at).ok()).and_then(|at| items.get(at))
            }
            _ => None,
        };
        value = next.ok_or(Stop { segment: Some(k) })?;
    }
    Ok(value)
}

/// Whether a lookup stopped on a missing entry (what `|default` replaces) rather than on a
/// value of the wrong kind.
fn is_missing(path: &Path, scope: &dyn Scope, stop: Stop) -> bool {
    let Some(k) = stop.segment else { return true };
    let parent = lookup(&Path { segments: path.segments[..k].to_vec(), ..path.clone() }, scope);
    matches!(
        (&path.segments[k], parent),
        (Segment::Field(_) | Segment::Key(_), Ok(Value::Object(_)))
            | (Segment::Index(_), Ok(Value::Array(_)))
    )
}

/// The message for a lookup that stopped; built only when one fails.
#[cold]
fn explain(path: &Path, scope: &dyn Scope, stop: Stop) -> EvalError {
    let Some(k) = stop.segment else {
        let hint = crate::registry::closest(&path.root, scope.names())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return EvalError::missing(path.span, format!("unknown name `{}`{hint}", path.root));
    };
    let walked = Path { segments: path.segments[..k].to_vec(), ..path.clone() };
    let text = walked.to_string();
    let parent = lookup(&walked, scope);
    match (&path.segments[k], parent) {
        (Segment::Field(name) | Segment::Key(name), Ok(Value::Object(_))) => {
            EvalError::missing(path.span, format!("`{text}` has no field `{name}`"))
        }
        (Segment::Index(i), Ok(Value::Array(items))) => EvalError::missing(
            path.span,
            format!("index {i} is out of range: `{text}` has {} items", items.len()),
        ),
        (Segment::Index(_), Ok(other)) => {
            EvalError::new(path.span, format!("`{text}` is {}, not a list", kind(other)))
        }
        (_, Ok(other)) => EvalError::new(path.span, format!("`{text}` is {}, not an object", kind(other))),
        (_, Err(_)) => EvalError::missing(path.span, format!("`{text}` is missing")),
    }
}

fn binary<'a>(
    a: &Expr,
    op: BinOp,
    b: &Expr,
    scope: &'a dyn Scope,
    limits: Limits,
) -> Result<Cow<'a, Value>, EvalError> {
    let left = eval(a, scope, limits)?;
    match op {
        BinOp::Or if truthy(&left) => return Ok(left),
        BinOp::And if !truthy(&left) => return Ok(left),
        BinOp::Or | BinOp::And => return eval(b, scope, limits),
        _ => {}
    }
    let right = eval(b, scope, limits)?;
    let result = match op {
        BinOp::Eq => equal(&left, &right),
        BinOp::Ne => !equal(&left, &right),
        _ => {
            let ordering = compare(&left, &right).ok_or_else(|| {
                EvalError::new(
                    Span { start: span_of(a).start, end: span_of(b).end },
                    format!("cannot compare {} with {}", kind(&left), kind(&right)),
                )
            })?;
            match op {
                BinOp::Lt => ordering.is_lt(),
                BinOp::Le => ordering.is_le(),
                BinOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            }
        }
    };
    Ok(Cow::Owned(Value::Bool(result)))
}

/// JSON equality where numbers compare by value (`1 == 1.0`), in lists and objects too.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(std::cmp::Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Integers exactly (as i128, so `u64` and `i64` mix), anything else as `f64`.
fn compare_numbers(x: &Number, y: &Number) -> Option<std::cmp::Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(x), int(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

fn apply(
    kind_: FilterKind,
    value: &Value,
    arg: Option<&Value>,
    at: Span,
    limits: Limits,
) -> Result<Value, EvalError> {
    let wrong = |what: &str| {
        EvalError::new(at, format!("filter `{}` needs {what}, found {}", name(kind_), kind(value)))
    };
    match kind_ {
        FilterKind::Default => Ok(value.clone()),
        FilterKind::Length => match value {
            Value::Array(a) => Ok(a.len().into()),
            Value::Object(o) => Ok(o.len().into()),
            Value::String(s) => Ok(s.chars().count().into()),
            _ => Err(wrong("a list, an object or a string")),
        },
        FilterKind::Upper => value.as_str().map(|s| s.to_uppercase().into()).ok_or_else(|| wrong("a string")),
        FilterKind::Lower => value.as_str().map(|s| s.to_lowercase().into()).ok_or_else(|| wrong("a string")),
        FilterKind::Json => {
            let mut out = Bounded { out: Vec::new(), max: limits.max_output };
            serde_json::to_writer(&mut out, value).map_err(|_| EvalError::new(at, too_long(limits)))?;
            Ok(Value::String(String::from_utf8_lossy(&out.out).into_owned()))
        }
        FilterKind::Join => {
            let items = value.as_array().ok_or_else(|| wrong("a list"))?;
            let sep = arg.map_or_else(|| ",".to_owned(), text_of);
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&sep);
                }
                write_text(&mut out, item);
                if out.len() > limits.max_output {
                    return Err(EvalError::new(at, too_long(limits)));
                }
            }
            Ok(Value::String(out))
        }
    }
}

/// A writer that fails past `max` bytes.
struct Bounded {
    out: Vec<u8>,
    max: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.max {
            return Err(std::io::Error::other("output too long"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn name(kind_: FilterKind) -> &'static str {
    FilterKind::ALL.iter().find(|(_, k)| *k == kind_).map_or("?", |(n, _)| n)
}

/// "a string", "a number", … for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The span of an expression (a literal has none of its own: it gets its neighbours').
fn span_of(expr: &Expr) -> Span {
    let span = raw_span(expr);
    Span { start: span.start, end: span.end.max(span.start) }
}

fn raw_span(expr: &Expr) -> Span {
    match expr {
        Expr::Path(p) => p.span,
        Expr::Not(e) | Expr::Neg(e) => span_of(e),
        Expr::Binary(a, _, b) => Span { start: span_of(a).start, end: span_of(b).end },
        Expr::Ternary(c, _, no) => Span { start: span_of(c).start, end: span_of(no).end },
        Expr::Filter(e, f) => Span { start: span_of(e).start, end: f.span.end },
        Expr::Literal(_, span) => *span,
    }
}
