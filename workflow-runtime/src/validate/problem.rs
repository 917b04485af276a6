//! [`Problem`] and [`Problems`]: what validation reports, as text and as miette diagnostics.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::template::ParseError;

/// One thing wrong with a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The step it is in, if any.
    pub step: Option<String>,
    /// The parameter (`body`, `condition`, `depends_on`, `tool_name`…), if any.
    pub parameter: Option<String>,
    /// What is wrong and what would be right.
    pub message: String,
    /// The text the problem is in (a parameter's template, or the workflow's source).
    pub text: String,
    /// The offending bytes of `text`.
    pub span: Option<(usize, usize)>,
}

impl Problem {
    pub(super) fn new(step: Option<&str>, parameter: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            step: step.map(str::to_owned),
            parameter: parameter.map(str::to_owned),
            message: message.into(),
            text: String::new(),
            span: None,
        }
    }

    pub(super) fn in_text(mut self, text: &str, span: (usize, usize)) -> Self {
        self.text = text.to_owned();
        self.span = Some(span);
        self
    }

    /// Line and column (from 1) of the start of the offending text.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let (start, _) = self.span?;
        let e = ParseError::at(&self.text, start, "");
        Some((e.line, e.column))
    }
}

impl Problem {
    /// [`Problems::in_file`] for one problem.
    fn in_file(self, file: &str) -> Problem {
        if self.text == file {
            return self;
        }
        let Some(step) = self.step.as_deref() else { return self };
        let Some((step_at, step_len)) = find_step(file, step) else { return self };
        // The step's text: up to the next step's id, or the end.
        let end = file[step_at + step_len..].find("step_id").map_or(file.len(), |i| step_at + step_len + i);
        let scope = &file[step_at..end];
        let found = match (&self.parameter, self.span) {
            // The parameter's template, as written in the file (no escapes in it).
            (_, Some((start, stop))) if !self.text.is_empty() => scope
                .find(self.text.as_str())
                .map(|at| (step_at + at + start, step_at + at + stop.max(start + 1))),
            _ => None,
        };
        // Else the parameter's value after its key (a tool's name, a literal), or the key.
        let found = found.or_else(|| {
            let parameter = self.parameter.as_deref()?;
            let at = find_key(scope, parameter)?;
            let after = &scope[at + parameter.len()..];
            let value = after.trim_start_matches(['"', '\'', ' ', ':', '[', '\t']);
            let start = at + parameter.len() + (after.len() - value.len());
            let len = value.find(['"', '\'', ',', ']', '}', '\n']).unwrap_or(value.len());
            Some(match value[..len].trim_end() {
                "" => (step_at + at, step_at + at + parameter.len()),
                token => (step_at + start, step_at + start + token.len()),
            })
        });
        let (start, stop) = found.unwrap_or((step_at, step_at + step_len));
        Problem { text: file.to_owned(), span: Some((start, stop.min(file.len()))), ..self }
    }
}

/// Where `"step_id": "<step>"` (JSON) or `step_id: <step>` (YAML) is: the step id's offset and
/// length.
fn find_step(file: &str, step: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = file[from..].find("step_id") {
        let after = from + i + "step_id".len();
        let rest = &file[after..];
        let value = rest.trim_start_matches(['"', '\'', ' ', ':', '\t']);
        let at = after + (rest.len() - value.len());
        if value.starts_with(step)
            && !value[step.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            return Some((at, step.len()));
        }
        from = after;
    }
    None
}

/// Where the key `key` is in a step's text, as `"key":` or `key:`.
fn find_key(scope: &str, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    if let Some(i) = scope.find(&quoted) {
        return Some(i + 1);
    }
    let mut from = 0;
    while let Some(i) = scope[from..].find(key) {
        let at = from + i;
        let before = scope[..at].chars().next_back();
        let after = scope[at + key.len()..].trim_start_matches(' ');
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with(':') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if let Some(step) = &self.step {
            place.push(format!("step `{step}`"));
        }
        if let Some(parameter) = &self.parameter {
            place.push(format!("parameter `{parameter}`"));
        }
        if let Some((line, column)) = self.line_column() {
            place.push(format!("line {line}, column {column}"));
        }
        if place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", place.join(", "), self.message)
        }
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.span.map(|_| &self.text as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (start, end) = self.span?;
        let label = LabeledSpan::new_with_span(Some("here".to_owned()), start..end.max(start));
        Some(Box::new(std::iter::once(label)))
    }
}

/// Every problem found in a workflow.
///
/// Its `Display` form lists the problems, one a line, with their positions; its `Debug` form
/// (what `main` prints for an error returned with `?`) is [`render`](Self::render): each problem
/// drawn with the offending text underlined. As a [`miette::Diagnostic`], it has one
/// [`related`](Diagnostic::related) diagnostic per problem.
#[derive(Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{} in the workflow", if n == 1 { "" } else { "s" })?;
        for problem in &self.0 {
            write!(f, "\n- {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl fmt::Debug for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Diagnostic for Problems {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.0.iter().map(|p| p as &dyn Diagnostic)))
    }
}

impl Problems {
    /// A syntax error in workflow text (a `.wf` file), located in that text.
    pub(crate) fn syntax(text: &str, error: &ParseError) -> Self {
        let problem =
            Problem::new(None, None, error.message.clone()).in_text(text, (error.offset, error.offset + 1));
        Problems(vec![problem])
    }

    /// One problem at `line` and `column` (from 1) of `text`: a file that could not be read as
    /// a workflow (JSON or YAML that does not parse, or does not have a workflow's fields).
    pub fn at(text: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
        let offset = (line_start + column.saturating_sub(1)).min(text.len());
        let problem =
            Problem::new(None, None, message.into()).in_text(text, (offset, (offset + 1).min(text.len())));
        Problems(vec![problem])
    }

    /// The problems of a workflow read from `file` (JSON or YAML), each placed in the file: at
    /// its parameter's text within its step (found after the step's `step_id`), or at the
    /// parameter's key, or at the step's id. A problem already placed in the file, or one whose
    /// step cannot be found there, is left as it is.
    pub fn in_file(self, file: &str) -> Problems {
        Problems(self.0.into_iter().map(|p| p.in_file(file)).collect())
    }

    /// The problems drawn as miette diagnostics, the offending text underlined.
    pub fn render(&self) -> String {
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        for problem in &self.0 {
            let wrapped = Located(problem);
            let _ = handler.render_report(&mut out, &wrapped);
        }
        out
    }
}

/// A problem whose message carries its step and parameter, for drawing.
#[derive(Debug)]
struct Located<'a>(&'a Problem);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        match (&p.step, &p.parameter) {
            (Some(s), Some(param)) => write!(f, "step `{s}`, parameter `{param}`: {}", p.message),
            (Some(s), None) => write!(f, "step `{s}`: {}", p.message),
            _ => f.write_str(&p.message),
        }
    }
}

impl std::error::Error for Located<'_> {}

impl Diagnostic for Located<'_> {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }
}
