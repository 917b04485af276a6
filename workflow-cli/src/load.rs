//! A workflow named on the command line: a file (`.wf`, JSON, YAML) or a workflow of the library.

use std::path::Path;

use workflow_runtime::WorkflowTemplate;
use workflow_runtime::library::WorkflowLibrary;
use workflow_runtime::validate::Problems;

/// The workflows of the file at `path`, or every problem that keeps it from being read (its
/// syntax; the rules are checked by the caller).
pub fn parse(path: &Path, text: &str) -> Result<Vec<WorkflowTemplate>, Problems> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension {
        "wf" => WorkflowTemplate::from_dsl(text),
        "yaml" | "yml" => WorkflowTemplate::from_yaml(text).map(|t| vec![t]).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            Problems::at(text, line, column, e.to_string())
        }),
        _ => WorkflowTemplate::from_json(text)
            .map(|t| vec![t])
            .map_err(|e| Problems::at(text, e.line(), e.column(), e.to_string())),
    }
}

/// The workflow `spec` names: a file's (its only one, or the one called `name`), or else the
/// library's workflow of that name.
pub fn workflow(
    spec: &str,
    name: Option<&str>,
    library: &WorkflowLibrary,
) -> Result<WorkflowTemplate, String> {
    let path = Path::new(spec);
    if !path.exists() {
        return match library.get(spec) {
            Some(entry) => Ok(entry.template.clone()),
            None => {
                let names: Vec<&str> = library.iter().map(|e| e.template.name.as_str()).collect();
                let known = if names.is_empty() {
                    String::new()
                } else {
                    format!(" (the library has {})", names.join(", "))
                };
                Err(format!("`{spec}` is neither a file nor a workflow of the library{known}"))
            }
        };
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{spec}: {e}"))?;
    let mut workflows = parse(path, &text).map_err(|problems| {
        format!("{spec} has problems (`workflow check {spec}` shows them):\n{problems}")
    })?;
    match name {
        Some(name) => match workflows.iter().position(|w| w.name == name) {
            Some(i) => Ok(workflows.swap_remove(i)),
            None => Err(format!("{spec} has no workflow `{name}`; it has {}", names(&workflows))),
        },
        None if workflows.len() == 1 => Ok(workflows.remove(0)),
        None => Err(format!(
            "{spec} has {} workflows ({}): choose one with `--workflow NAME`",
            workflows.len(),
            names(&workflows)
        )),
    }
}

fn names(workflows: &[WorkflowTemplate]) -> String {
    workflows.iter().map(|w| format!("`{}`", w.name)).collect::<Vec<_>>().join(", ")
}
