//! Checking workflow text (a `.wf` file) with positions in the file.

use super::{Catalog, Problems, check_model, to_problem};
use crate::definition::WorkflowTemplate;
use crate::dsl::Site;

/// Reads and checks workflow text (a `.wf` file): every problem of every workflow in it, with
/// its line and column in the file and the offending text underlined. A text that does not
/// parse is one problem, drawn the same way.
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
///      - step `b`, parameter `depends_on`, line 3, column 27: `depends` names unknown step `c`; the steps are `a`, `b`"
/// );
/// ```
pub fn validate_source(text: &str, catalog: Option<&dyn Catalog>) -> Result<Vec<WorkflowTemplate>, Problems> {
    let defs = workflow_core::dsl::workflows(text).map_err(|e| Problems::syntax(text, &e))?;
    let mut templates = Vec::new();
    let mut problems = Vec::new();
    for def in defs {
        let template = crate::dsl::to_template(&def);
        let model = def.map_spans(&mut Site::in_file);
        if let Err(found) = check_model(model, catalog) {
            problems.extend(found.into_iter().map(|p| to_problem(&template, p, &|_| text.to_owned())));
        }
        templates.push(template);
    }
    if problems.is_empty() { Ok(templates) } else { Err(Problems(problems)) }
}
