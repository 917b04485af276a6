//! `workflow check FILE…`: every problem of a workflow file, each drawn with its text underlined.

use std::path::PathBuf;

use clap::Args;
use workflow_runtime::WorkflowTemplate;
use workflow_runtime::validate::{Problems, plan, validate_source};

/// The arguments of `workflow check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Workflow files: `.wf` (the `workflow!` syntax as text), `.json`, `.yaml` or `.yml`.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Checks each file (without tool definitions: names, references, cycles, syntax, clauses);
/// prints every problem, and fails when one file has any.
pub fn run(args: &CheckArgs) -> Result<(), String> {
    let mut failed = 0;
    for path in &args.files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        match check(path, &text) {
            Ok(workflows) => {
                let steps: usize = workflows.iter().map(|w| w.steps.len()).sum();
                println!("{}: {} workflow(s), {steps} step(s), no problems", path.display(), workflows.len());
            }
            Err(problems) => {
                failed += 1;
                eprint!("{}", problems.render());
                eprintln!(
                    "{}: {}",
                    path.display(),
                    problems.to_string().lines().next().unwrap_or("problems")
                );
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} file(s) have problems", args.files.len())),
    }
}

/// The workflows of a file, or every problem in it.
fn check(path: &std::path::Path, text: &str) -> Result<Vec<WorkflowTemplate>, Problems> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let template = match extension {
        "wf" => return validate_source(text, None),
        "yaml" | "yml" => WorkflowTemplate::from_yaml(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            Problems::at(text, line, column, e.to_string())
        }),
        _ => WorkflowTemplate::from_json(text)
            .map_err(|e| Problems::at(text, e.line(), e.column(), e.to_string())),
    };
    let template = template?;
    plan(&template)?;
    Ok(vec![template])
}
