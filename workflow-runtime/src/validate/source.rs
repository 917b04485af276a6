//! Checking workflow text (a `.wf` file) with positions in the file.

use super::{Catalog, Problem, Problems, check};
use crate::definition::WorkflowTemplate;

/// Reads and checks workflow text (a `.wf` file): every problem of every workflow in it, with
/// its line and column in the file and the offending text underlined.
///
/// ```
/// use workflow::validate::validate_source;
///
/// let problems = validate_source("w(repo: String) {\n  a = t(x: \"<<rpo>>\");\n  b = t(x: <<a>>) depends c;\n}", None)
///     .unwrap_err();
/// assert_eq!(
///     problems.to_string(),
///     "2 problems in the workflow\n\
///      - step `a`, parameter `x`, line 2, column 15: unknown step or input `rpo`; did you mean `repo`?\n\
///      - step `b`, parameter `depends_on`, line 3, column 27: `depends_on` names unknown step `c`; the steps are `a`, `b`"
/// );
/// ```
pub fn validate_source(text: &str, catalog: Option<&dyn Catalog>) -> Result<Vec<WorkflowTemplate>, Problems> {
    let defs = workflow_template::dsl::workflows(text).map_err(|e| Problems::syntax(text, &e))?;
    let mut templates = Vec::new();
    let mut problems = Vec::new();
    for def in defs {
        let spans: Vec<(String, workflow_template::dsl::DslSpans, Vec<String>)> = def
            .steps
            .iter()
            .map(|s| (s.id.clone(), s.spans.clone(), s.args.iter().map(|(n, _)| n.clone()).collect()))
            .collect();
        let template = crate::dsl::to_template(def);
        if let Err(Problems(found)) = check(&template, catalog) {
            problems.extend(found.into_iter().map(|p| locate(p, text, &spans)));
        }
        templates.push(template);
    }
    if problems.is_empty() { Ok(templates) } else { Err(Problems(problems)) }
}

/// Moves a problem from its template's text to the source file.
fn locate(
    mut problem: Problem,
    text: &str,
    steps: &[(String, workflow_template::dsl::DslSpans, Vec<String>)],
) -> Problem {
    let Some((_, spans, args)) = steps.iter().find(|(id, _, _)| Some(id) == problem.step.as_ref()) else {
        return problem;
    };
    let whole = |s: workflow_template::ast::Span| (s.start, s.end);
    let span = match problem.parameter.as_deref() {
        Some("condition") => spans.condition.map(whole),
        Some("depends_on") => spans.depends.first().copied().map(whole).map(|first| {
            // The name the message is about, when it can be found among the `depends` names.
            spans
                .depends
                .iter()
                .find(|s| problem.message.contains(&format!("`{}`", &text[s.start..s.end])))
                .map_or(first, |s| (s.start, s.end))
        }),
        Some("tool_name") => Some(whole(spans.tool)),
        Some(name) => match args.iter().position(|a| a == name) {
            Some(i) => spans.args.get(i).map(|&(value, start)| match problem.span {
                Some((a, b)) if start + b <= value.end => (start + a, start + b),
                _ => (value.start, value.end),
            }),
            None => Some(whole(spans.tool)),
        },
        None => Some(whole(spans.id)),
    };
    problem.text = text.to_owned();
    problem.span = span;
    problem
}
