//! `workflow check FILE…`: every problem of a workflow file, each drawn with its text underlined.

use std::path::{Path, PathBuf};

use clap::Args;
use workflow_runtime::validate::{Catalog, Problems, plan, validate, validate_source};
use workflow_runtime::{ToolRegistry, WorkflowTemplate};

/// The arguments of `workflow check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Workflow files: `.wf` (the `workflow!` syntax as text), `.json`, `.yaml` or `.yml`.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Check names, references, cycles and syntax only, not the tools: for files written for
    /// another program's tools.
    #[arg(long)]
    any_tools: bool,
    /// Check against the tools of MCP servers too, as `NAME=COMMAND [ARGS…]`.
    #[arg(long = "mcp", value_name = "NAME=COMMAND")]
    mcp: Vec<String>,
}

/// Checks each file against this program's tools (unless `--any-tools`); prints every problem,
/// and fails when one file has any.
pub fn run<S: Send + Sync + 'static>(args: &CheckArgs, mut setup: crate::Setup<S>) -> Result<(), String> {
    if !args.mcp.is_empty() {
        let runtime = crate::runtime()?;
        runtime.block_on(crate::mcp::connect(&args.mcp, &mut setup.tools))?;
    }
    let catalog: Option<&dyn Catalog> =
        if args.any_tools { None } else { Some(&setup.tools as &ToolRegistry<S>) };
    let mut failed = 0;
    for path in &args.files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        match check(path, &text, catalog) {
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
fn check(path: &Path, text: &str, catalog: Option<&dyn Catalog>) -> Result<Vec<WorkflowTemplate>, Problems> {
    if path.extension().is_some_and(|e| e == "wf") {
        return validate_source(text, catalog);
    }
    let templates = crate::load::parse(path, text)?;
    for template in &templates {
        let checked = match catalog {
            Some(catalog) => validate(template, catalog),
            None => plan(template),
        };
        // Each problem placed in the file, at its step's parameter.
        checked.map_err(|problems| problems.in_file(text))?;
    }
    Ok(templates)
}
