//! `workflow export`: the runs of an execution log as JSONL in the miner's format.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

/// Where an execution log is: a SQLite file, or a PostgreSQL schema. Required by `export` and
/// `stats`; `run` writes to it and `graph --run`, `library list` read it when given.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("store").args(["sqlite", "postgres"]))]
pub struct LogArgs {
    /// A SQLite execution log (`SqliteStore`).
    #[arg(long, value_name = "FILE")]
    sqlite: Option<PathBuf>,
    /// A PostgreSQL execution log: its connection (`host=… user=… dbname=…` or a URL).
    #[arg(long, value_name = "CONFIG", requires = "schema")]
    postgres: Option<String>,
    /// The PostgreSQL schema of the log.
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
}

/// The arguments of `workflow export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    log: LogArgs,
    /// Where to write the JSONL (standard output when left out).
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Writes every run of the log as JSONL; says on standard error how many lines.
pub fn run(args: &ExportArgs) -> Result<(), String> {
    args.log.require();
    let runs = read_log(&args.log)?;
    let lines = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            workflow_store::export_jsonl(&runs, std::io::BufWriter::new(file))
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => {
            let stdout = std::io::stdout().lock();
            workflow_store::export_jsonl(&runs, std::io::BufWriter::new(stdout)).map_err(|e| e.to_string())?
        }
    };
    let _ = writeln!(std::io::stderr(), "{lines} call(s) of {} run(s) exported", runs.len());
    Ok(())
}

impl LogArgs {
    /// Whether a log was named.
    pub fn given(&self) -> bool {
        self.sqlite.is_some() || self.postgres.is_some()
    }

    /// Ends the process with a usage error (exit code 2, as clap's) when no log was named:
    /// for the commands that need one.
    pub fn require(&self) {
        if !self.given() {
            let message = "this command reads an execution log: give `--sqlite FILE`, or `--postgres CONFIG --schema NAME`\n";
            clap::Error::raw(clap::error::ErrorKind::MissingRequiredArgument, message).exit();
        }
    }
}

/// Every run of the log.
pub fn read_log(log: &LogArgs) -> Result<Vec<workflow_store::StoredRun>, String> {
    let (sqlite, postgres, schema) = (log.sqlite.as_ref(), log.postgres.as_deref(), log.schema.as_deref());
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        match (sqlite, postgres, schema) {
            (Some(path), _, _) => {
                if !path.exists() {
                    return Err(format!("{}: no such file", path.display()));
                }
                let store = workflow_store::SqliteStore::open(path).map_err(|e| e.to_string())?;
                store.runs().await.map_err(|e| e.to_string())
            }
            (None, Some(config), Some(schema)) => {
                let store = workflow_store::PostgresStore::connect(config, schema)
                    .await
                    .map_err(|e| e.to_string())?;
                store.runs().await.map_err(|e| e.to_string())
            }
            _ => Err("give `--sqlite FILE`, or `--postgres CONFIG --schema NAME`".to_owned()),
        }
    })
}

/// The log as the journal of a run: a SQLite file is created when it does not exist.
pub async fn open_journal(log: &LogArgs) -> Result<std::sync::Arc<dyn workflow_store::Journal>, String> {
    match (log.sqlite.as_ref(), log.postgres.as_deref(), log.schema.as_deref()) {
        (Some(path), _, _) => {
            let store = workflow_store::SqliteStore::open(path).map_err(|e| e.to_string())?;
            Ok(std::sync::Arc::new(store))
        }
        (None, Some(config), Some(schema)) => {
            let store =
                workflow_store::PostgresStore::connect(config, schema).await.map_err(|e| e.to_string())?;
            Ok(std::sync::Arc::new(store))
        }
        _ => Err("give `--sqlite FILE`, or `--postgres CONFIG --schema NAME`".to_owned()),
    }
}
