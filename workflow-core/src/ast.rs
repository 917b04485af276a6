//! The syntax tree of templates and expressions.

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A parsed template: text and interpolated expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The pieces in order.
    pub parts: Vec<Part>,
}

impl Template {
    /// The expression, when the template is exactly one `{{ … }}` and nothing else: it then
    /// yields the expression's typed value instead of a string.
    pub fn single(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Expr(expr)] => Some(expr),
            _ => None,
        }
    }

    /// Every path the template reads.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Expr(expr) = part {
                expr.collect_paths(&mut out);
            }
        }
        out
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// An interpolated expression.
    Expr(Expr),
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value, and where it is.
    Literal(Literal, Span),
    /// A name such as `step.items[0].name`.
    Path(Path),
    /// `!e`.
    Not(Box<Expr>),
    /// `-e`.
    Neg(Box<Expr>),
    /// `a op b`.
    Binary(Box<Expr>, BinOp, Box<Expr>),
    /// `cond ? then : otherwise`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `e|name` or `e|name:arg`.
    Filter(Box<Expr>, Filter),
}

impl Expr {
    /// Every path this expression reads, in order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Expr::Literal(..) => {}
            Expr::Path(p) => out.push(p),
            Expr::Not(e) | Expr::Neg(e) => e.collect_paths(out),
            Expr::Binary(a, _, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Expr::Ternary(c, a, b) => {
                c.collect_paths(out);
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Expr::Filter(e, f) => {
                e.collect_paths(out);
                if let Some(arg) = &f.arg {
                    arg.collect_paths(out);
                }
            }
        }
    }
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string, escapes resolved.
    Str(String),
    /// A number, as written.
    Number(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// A filter applied to a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Which filter.
    pub kind: FilterKind,
    /// Its argument, for `default:'x'` and `join:','`.
    pub arg: Option<Box<Expr>>,
    /// Where the filter's name is.
    pub span: Span,
}

/// The filters of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKind {
    /// `default:x`: `x` when the value is missing or `null`.
    Default,
    /// `length`: the number of items, entries or characters.
    Length,
    /// `upper`: a string in upper case.
    Upper,
    /// `lower`: a string in lower case.
    Lower,
    /// `json`: the value as compact JSON text.
    Json,
    /// `join:sep`: a list's items joined with `sep` (default `,`).
    Join,
}

impl FilterKind {
    /// Every filter with its name.
    pub const ALL: [(&'static str, FilterKind); 6] = [
        ("default", FilterKind::Default),
        ("length", FilterKind::Length),
        ("upper", FilterKind::Upper),
        ("lower", FilterKind::Lower),
        ("json", FilterKind::Json),
        ("join", FilterKind::Join),
    ];

    /// The filter called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
    }

    /// Whether the filter takes an argument (`Some(true)`: required, `None`: optional).
    pub fn takes_arg(self) -> Option<bool> {
        match self {
            FilterKind::Default => Some(true),
            FilterKind::Join => None,
            _ => Some(false),
        }
    }
}

/// A path: a root name and the steps into its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The first name: an input, a variable or a step.
    pub root: String,
    /// The fields, indexes and keys after it.
    pub segments: Vec<Segment>,
    /// Where the path is in the source.
    pub span: Span,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.root)?;
        for segment in &self.segments {
            match segment {
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
                Segment::Key(k) => write!(f, "[\"{}\"]", escape_key(k))?,
            }
        }
        Ok(())
    }
}

/// A key as written between double quotes: `\\`, `"`, newline, tab and carriage return escaped,
/// as the grammar reads them back.
fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// `.name`.
    Field(String),
    /// `[i]`, counting from the end when negative.
    Index(i64),
    /// `["key"]`.
    Key(String),
}

/// The ways a condition can test how a step ended: `<<charge.$failed>>`, `{{charge.$failed}}`.
pub const STATUS_TESTS: [&str; 5] = ["succeeded", "failed", "skipped", "cancelled", "timed_out"];

impl Path {
    /// The status a path tests (`failed` for `charge.$failed`), if it is a status test: one
    /// segment, a name that starts with `$`.
    pub fn status_test(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Field(name)] => name.strip_prefix('$'),
            _ => None,
        }
    }

    /// Whether any of its segments is a `$` name (a status test, or a misplaced one).
    pub fn has_status_segment(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Field(name) if name.starts_with('$')))
    }
}

/// The canonical text of an expression, as a condition: paths as `{{path}}`, strings in single
/// quotes, nested operations in parentheses. Two expressions with the same tree print the same.
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn operand(e: &Expr, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match e {
                Expr::Binary(..) | Expr::Ternary(..) => write!(f, "({e})"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            Expr::Literal(Literal::Str(s), _) => {
                write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
            Expr::Literal(Literal::Number(n), _) => f.write_str(n),
            Expr::Literal(Literal::Bool(b), _) => write!(f, "{b}"),
            Expr::Literal(Literal::Null, _) => f.write_str("null"),
            Expr::Path(p) => write!(f, "{{{{{p}}}}}"),
            Expr::Not(e) => {
                f.write_str("!")?;
                operand(e, f)
            }
            Expr::Neg(e) => {
                f.write_str("-")?;
                operand(e, f)
            }
            Expr::Binary(a, op, b) => {
                operand(a, f)?;
                write!(f, " {op} ")?;
                operand(b, f)
            }
            Expr::Ternary(c, yes, no) => {
                operand(c, f)?;
                f.write_str(" ? ")?;
                operand(yes, f)?;
                f.write_str(" : ")?;
                operand(no, f)
            }
            Expr::Filter(e, filter) => {
                match **e {
                    Expr::Not(_) | Expr::Neg(_) => write!(f, "({e})")?,
                    _ => operand(e, f)?,
                }
                let name = FilterKind::ALL.iter().find(|(_, k)| *k == filter.kind).map_or("?", |(n, _)| n);
                write!(f, "|{name}")?;
                match &filter.arg {
                    Some(arg) => {
                        f.write_str(":")?;
                        operand(arg, f)
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::fmt::Display for BinOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        })
    }
}
