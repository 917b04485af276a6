//! `workflow library list|show`: the program's library of workflows, with how often each ran
//! when an execution log is given.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

/// The subcommands of `workflow library`.
#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Every workflow: name, category, steps, tools, and runs and success rate from a log.
    List(ListArgs),
    /// One workflow, as YAML or JSON (files `check`, `graph` and `run` take).
    Show(ShowArgs),
}

/// The arguments of `workflow library list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Count the runs of each workflow in this execution log.
    #[command(flatten)]
    log: crate::export::LogArgs,
    /// Print one JSON object per workflow, with its metadata.
    #[arg(long)]
    json: bool,
}

/// The arguments of `workflow library show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The workflow's name.
    name: String,
    /// How to write it.
    #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
    format: ShowFormat,
}

/// How `workflow library show` writes a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ShowFormat {
    /// A `WorkflowTemplate` as JSON.
    Json,
    /// A `WorkflowTemplate` as YAML.
    Yaml,
}

/// Runs the subcommand.
pub fn run<S>(command: &LibraryCommand, setup: &mut crate::Setup<S>) -> Result<(), String> {
    match command {
        LibraryCommand::List(args) => list(args, setup),
        LibraryCommand::Show(args) => show(args, setup),
    }
}

fn list<S>(args: &ListArgs, setup: &mut crate::Setup<S>) -> Result<(), String> {
    if args.log.given() {
        for run in crate::export::read_log(&args.log)? {
            if run.status != "running" {
                setup.library.record_run(&run.workflow, run.status == "succeeded");
            }
        }
    }
    for entry in setup.library.iter() {
        let template = &entry.template;
        if args.json {
            let line = serde_json::json!({
                "name": template.name,
                "description": template.description,
                "steps": template.steps.len(),
                "tools": entry.tools,
                "metadata": entry.metadata(),
            });
            println!("{line}");
            continue;
        }
        let category = template.metadata.get("category").and_then(Value::as_str).unwrap_or("-");
        let usage = match entry.usage.success_rate() {
            Some(rate) => format!("{} run(s), {:.0} % succeeded", entry.usage.runs, rate * 100.0),
            None if args.log.given() => "no runs".to_owned(),
            None => String::new(),
        };
        println!("{:<26} {:<9} {:>2} steps  {usage}", template.name, category, template.steps.len());
        if !template.description.is_empty() {
            println!("    {}", template.description.lines().collect::<Vec<_>>().join(" "));
        }
    }
    Ok(())
}

fn show<S>(args: &ShowArgs, setup: &crate::Setup<S>) -> Result<(), String> {
    let entry = setup.library.get(&args.name).ok_or_else(|| {
        let names: Vec<&str> = setup.library.iter().map(|e| e.template.name.as_str()).collect();
        format!("the library has no workflow `{}`; it has {}", args.name, names.join(", "))
    })?;
    let text = match args.format {
        ShowFormat::Json => serde_json::to_string_pretty(&entry.template).map_err(|e| e.to_string())? + "\n",
        ShowFormat::Yaml => serde_yaml_ng::to_string(&entry.template).map_err(|e| e.to_string())?,
    };
    print!("{text}");
    Ok(())
}
