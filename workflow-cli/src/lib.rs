//! The `workflow` command line, over any [`ToolRegistry`]: a program with tools of its own gets
//! the same commands for them with one call.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use workflow::ToolRegistry;
//! use workflow::library::WorkflowLibrary;
//!
//! fn main() -> ExitCode {
//!     let mut tools = ToolRegistry::new(());
//!     // tools.register::<my_tool>().unwrap();
//!     workflow_cli::main(tools, WorkflowLibrary::new())
//! }
//! ```
//!
//! Each subcommand is a module with its arguments (a clap `Args`) and a `run` that prints what
//! it found or returns a one-line error. Exit codes: 0 when the command did what it was asked, 1
//! when it found problems or a run failed, 2 for a usage error (clap's).
#![warn(missing_docs)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workflow_runtime::ToolRegistry;
use workflow_runtime::library::WorkflowLibrary;

mod check;
mod export;
mod graph;
mod library;
mod load;
mod mcp;
mod mine;
mod run;
mod savings;
mod serve;
mod signal;
mod stats;

/// Compile-time checked tool workflows for LLM agents: check, draw, run and measure workflows,
/// and mine usage logs for new ones.
#[derive(Debug, Parser)]
#[command(name = "workflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check workflow files (`.wf`, JSON, YAML): every problem, with its text underlined.
    Check(check::CheckArgs),
    /// Draw a workflow as a Mermaid or DOT graph, or a past run as a Mermaid Gantt chart.
    Graph(graph::GraphArgs),
    /// Run a workflow file or a library workflow with the tools of this program.
    Run(run::RunArgs),
    /// Serve workflows as MCP tools on standard input and output.
    Serve(serve::ServeArgs),
    /// Send a signal to a journaled run: the approval its `wait_for_signal` step waits for.
    Signal(signal::SignalArgs),
    /// List the library's workflows, or show one.
    #[command(subcommand)]
    Library(library::LibraryCommand),
    /// Runs, success rates and durations per workflow and step, from an execution log.
    Stats(stats::StatsArgs),
    /// Find the tool chains that recur in usage logs, and write them as workflows.
    Mine(mine::MineArgs),
    /// Write the runs of an execution log as JSONL, the format `mine` reads.
    Export(export::ExportArgs),
    /// Replay usage logs: the tool-result tokens the top mined chains would have kept out of
    /// the model, had they run as workflows.
    Savings(savings::SavingsArgs),
}

/// How `stats` and `savings` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table for people.
    Table,
    /// One JSON object, for scripts.
    Json,
}

/// The runtime a command's async work runs on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))
}

/// What the commands work with: the program's tools and its library of workflows.
pub(crate) struct Setup<S> {
    tools: ToolRegistry<S>,
    library: WorkflowLibrary,
}

/// Parses the process's arguments and runs the command over `tools` and `library`; returns the
/// exit code to end the process with.
pub fn main<S: Send + Sync + 'static>(tools: ToolRegistry<S>, library: WorkflowLibrary) -> ExitCode {
    let cli = Cli::parse();
    let mut setup = Setup { tools, library };
    let result = match cli.command {
        Command::Check(args) => check::run(&args, setup),
        Command::Graph(args) => graph::run(&args, &setup),
        Command::Run(args) => run::run(&args, setup),
        Command::Serve(args) => serve::run(&args, setup),
        Command::Signal(args) => signal::run(&args),
        Command::Library(command) => library::run(&command, &mut setup),
        Command::Stats(args) => stats::run(&args),
        Command::Mine(args) => mine::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Savings(args) => savings::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
