//! `workflow`: the command line of the `workflow` crates. Each subcommand is a module with its
//! arguments (a clap `Args`) and a `run` that returns what to print or a one-line error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod export;
mod mine;
mod stats;

/// Compile-time checked tool workflows for LLM agents: tools from the command line.
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
    /// Find the tool chains that recur in usage logs, and write them as workflows.
    Mine(mine::MineArgs),
    /// Write the runs of an execution log as JSONL, the format `mine` reads.
    Export(export::ExportArgs),
    /// Runs, success rates and durations per workflow and step, from an execution log.
    Stats(stats::StatsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Mine(args) => mine::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Stats(args) => stats::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
