//! `workflow stats`: runs, success rates and durations per workflow and step, from an execution
//! log.

use clap::Args;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use workflow_store::{StepState, StoredRun};

/// The arguments of `workflow stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    log: crate::export::LogArgs,
    /// What to print.
    #[arg(long, value_enum, default_value_t = crate::Format::Table)]
    format: crate::Format,
}

/// Reads the log and prints its statistics.
pub fn run(args: &StatsArgs) -> Result<(), String> {
    args.log.require();
    let runs = crate::export::read_log(&args.log)?;
    let stats = stats(&runs);
    match args.format {
        crate::Format::Json => {
            println!("{}", serde_json::to_string_pretty(&stats).map_err(|e| e.to_string())?)
        }
        crate::Format::Table => print!("{}", table(&stats)),
    }
    Ok(())
}

/// The value at `share` (0 to 1) of `values`, sorted: the nearest rank.
fn percentile(values: &mut [f64], share: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (share * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank.min(values.len()) - 1).copied()
}

fn ms(from: Option<u64>, to: Option<u64>) -> Option<f64> {
    Some(to?.checked_sub(from?)? as f64)
}

/// Per workflow: its runs, how many succeeded, their durations, the time its steps took in all
/// against the time its runs took (what running steps concurrently saved), and per step the
/// same, in the order of the workflow's definition.
fn stats(runs: &[StoredRun]) -> Value {
    let mut workflows: BTreeMap<&str, Vec<&StoredRun>> = BTreeMap::new();
    for run in runs {
        workflows.entry(&run.workflow).or_default().push(run);
    }
    let workflows: Vec<Value> = workflows
        .into_iter()
        .map(|(name, runs)| {
            let ended: Vec<&&StoredRun> = runs.iter().filter(|r| r.status != "running").collect();
            let succeeded = ended.iter().filter(|r| r.status == "succeeded").count();
            let mut durations: Vec<f64> =
                ended.iter().filter_map(|r| ms(Some(r.started_at_ms), r.finished_at_ms)).collect();
            let wall: f64 = durations.iter().sum();
            let counted: Vec<&workflow_runtime::tokens::TokenUsage> =
                ended.iter().filter_map(|r| r.tokens.as_ref()).collect();
            let kept: u64 = counted.iter().map(|t| t.kept).sum();
            let returned: u64 = counted.iter().map(|t| t.returned).sum();
            let mut steps: BTreeMap<&str, (usize, usize, Vec<f64>)> = BTreeMap::new();
            let mut step_time = 0.0;
            for run in &ended {
                for step in &run.steps {
                    let entry = steps.entry(&step.step).or_default();
                    entry.0 += 1;
                    if step.state == StepState::Ended(workflow_store::StepStatus::Succeeded) {
                        entry.1 += 1;
                    }
                    let duration = step.record.as_ref().and_then(|r| r["duration_ms"].as_f64());
                    if let Some(d) = duration {
                        entry.2.push(d);
                        step_time += d;
                    }
                }
            }
            // In the order the workflow's definition has them (the latest run's), then the rest.
            let order: Vec<&str> = runs
                .iter()
                .rev()
                .find_map(|r| r.definition["steps"].as_array())
                .map(|steps| steps.iter().filter_map(|s| s["step_id"].as_str()).collect())
                .unwrap_or_default();
            let place = |step: &str| order.iter().position(|s| *s == step).unwrap_or(usize::MAX);
            let mut steps: Vec<_> = steps.into_iter().collect();
            steps.sort_by_key(|(step, _)| place(step));
            let steps: Vec<Value> = steps
                .into_iter()
                .map(|(step, (calls, ok, mut durations))| {
                    json!({
                        "step": step,
                        "calls": calls,
                        "succeeded": ok,
                        "success_rate": ok as f64 / calls.max(1) as f64,
                        "p50_ms": percentile(&mut durations, 0.5),
                        "p95_ms": percentile(&mut durations, 0.95),
                    })
                })
                .collect();
            json!({
                "workflow": name,
                "runs": runs.len(),
                "ended": ended.len(),
                "succeeded": succeeded,
                "success_rate": succeeded as f64 / ended.len().max(1) as f64,
                "p50_ms": percentile(&mut durations, 0.5),
                "p95_ms": percentile(&mut durations, 0.95),
                "steps_ms": step_time,
                "wall_ms": wall,
                "saved_by_concurrency_ms": (step_time - wall).max(0.0),
                "tokens": {
                    "runs_counted": counted.len(),
                    "kept": kept,
                    "returned": returned,
                    "kept_share": (kept + returned > 0).then(|| kept as f64 / (kept + returned) as f64),
                },
                "steps": steps,
            })
        })
        .collect();
    json!({ "workflows": workflows })
}

fn table(stats: &Value) -> String {
    let number = |v: &Value| v.as_f64().map_or_else(|| "-".to_owned(), |n| format!("{n:.1}"));
    let mut out = String::new();
    for w in stats["workflows"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{}: {} run(s), {} succeeded ({:.1} %), p50 {} ms, p95 {} ms; steps took {} ms in runs of {} ms (concurrency saved {} ms)\n",
            w["workflow"].as_str().unwrap_or("?"),
            w["runs"],
            w["succeeded"],
            w["success_rate"].as_f64().unwrap_or(0.0) * 100.0,
            number(&w["p50_ms"]),
            number(&w["p95_ms"]),
            number(&w["steps_ms"]),
            number(&w["wall_ms"]),
            number(&w["saved_by_concurrency_ms"]),
        ));
        let tokens = &w["tokens"];
        if tokens["runs_counted"].as_u64().unwrap_or(0) > 0 {
            out.push_str(&format!(
                "  tokens kept out of the model: {} of {} ({:.1} %) in {} run(s)\n",
                tokens["kept"],
                tokens["kept"].as_u64().unwrap_or(0) + tokens["returned"].as_u64().unwrap_or(0),
                tokens["kept_share"].as_f64().unwrap_or(0.0) * 100.0,
                tokens["runs_counted"],
            ));
        }
        for s in w["steps"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {:<24} {:>5} call(s) {:>6.1} % ok  p50 {:>8} ms  p95 {:>8} ms\n",
                s["step"].as_str().unwrap_or("?"),
                s["calls"],
                s["success_rate"].as_f64().unwrap_or(0.0) * 100.0,
                number(&s["p50_ms"]),
                number(&s["p95_ms"]),
            ));
        }
    }
    out
}
