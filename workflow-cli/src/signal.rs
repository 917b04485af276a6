//! `workflow signal RUN NAME [PAYLOAD]`: sends a signal to a journaled run (the approval a
//! `wait_for_signal` step waits for), from any process using the same log.

use clap::Args;
use serde_json::Value;
use workflow_runtime::journal::RunId;

/// The arguments of `workflow signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The run's id (`workflow run … --sqlite FILE` prints it).
    run: String,
    /// The signal's name, as its `wait_for_signal` step names it.
    name: String,
    /// Its payload: JSON (`{"approved": true, "by": "ana"}`), or a text when it is not JSON.
    #[arg(default_value = "null")]
    payload: String,
    /// The execution log the run is journaled in.
    #[command(flatten)]
    log: crate::export::LogArgs,
}

/// Sends the signal and waits until it is durable.
pub fn run(args: &SignalArgs) -> Result<(), String> {
    args.log.require();
    let payload = serde_json::from_str(&args.payload).unwrap_or_else(|_| Value::String(args.payload.clone()));
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let journal = crate::export::open_journal(&args.log).await?;
        let run = RunId::from(args.run.as_str());
        journal.send_signal(&run, &args.name, payload).await.map_err(|e| e.to_string())?;
        eprintln!("sent `{}` to run {}", args.name, args.run);
        Ok(())
    })
}
