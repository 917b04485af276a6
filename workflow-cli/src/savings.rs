//! `workflow savings LOG…`: what the top mined chains would have kept out of the model, had
//! they run as workflows: the logged sessions replayed, each occurrence of a chain (its tools
//! called one after the other, as mined) counted as one workflow run whose intermediate results
//! (every call's result but those of its last level, which the workflow returns) never reach the
//! model. Results are counted as the log holds them (a result over 2 KiB may be cut short there).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};
use workflow_mine::{LogSource, MinSupport, PatternDetector};
use workflow_runtime::tokens::text_of;
use workflow_tokens::{Encoding, Tiktoken};

/// The arguments of `workflow savings`.
#[derive(Debug, Args)]
pub struct SavingsArgs {
    /// Usage logs: JSON lines, one tool call a line (as `workflow mine` reads them, not gzipped).
    #[arg(value_name = "LOG", required = true)]
    logs: Vec<PathBuf>,
    /// How many of the best mined chains run as workflows.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// The least support of a chain: a number of sessions (`5`) or a share of them (`2%`).
    #[arg(long, value_name = "N|P%", default_value = "2", value_parser = |t: &str| t.parse::<MinSupport>())]
    min_support: MinSupport,
    /// The most tools in a chain.
    #[arg(long, value_name = "N", default_value_t = 5)]
    max_len: usize,
    /// What to print.
    #[arg(long, value_enum, default_value_t = crate::Format::Table)]
    format: crate::Format,
}

/// The parts of a logged call the replay needs.
#[derive(Deserialize)]
struct Call {
    session_id: String,
    seq: u64,
    tool_name: String,
    result: Value,
}

/// A logged call, its result's tokens in each encoding.
struct Counted {
    seq: u64,
    tool: String,
    tokens: [u64; 2],
}

const ENCODINGS: [Encoding; 2] = [Encoding::O200k, Encoding::Cl100k];

/// Mines the logs, replays them, and prints what each chain would have kept.
pub fn run(args: &SavingsArgs) -> Result<(), String> {
    let tokenizers: Vec<Tiktoken> =
        ENCODINGS.iter().map(|&e| Tiktoken::new(e)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let sources: Vec<LogSource> = args.logs.iter().map(LogSource::path).collect();
    let mined = PatternDetector::new()
        .min_support(args.min_support)
        .max_len(args.max_len)
        .top(Some(args.top))
        .mine(&sources)
        .map_err(|e| e.to_string())?;

    // Every call of every session, in order, with its result's tokens.
    let mut sessions: BTreeMap<String, Vec<Counted>> = BTreeMap::new();
    let mut skipped = 0u64;
    for path in &args.logs {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            // `mine` has reported the lines it could not read; they are skipped here too.
            let Ok(call) = serde_json::from_str::<Call>(&line) else {
                skipped += u64::from(!line.trim().is_empty());
                continue;
            };
            let text = text_of(&call.result);
            let tokens = [tokenizers[0].count(&text) as u64, tokenizers[1].count(&text) as u64];
            sessions.entry(call.session_id).or_default().push(Counted {
                seq: call.seq,
                tool: call.tool_name,
                tokens,
            });
        }
    }
    for calls in sessions.values_mut() {
        calls.sort_by_key(|c| c.seq);
    }
    let mut covered: BTreeMap<&str, Vec<bool>> =
        sessions.iter().map(|(session, calls)| (session.as_str(), vec![false; calls.len()])).collect();
    let total: [u64; 2] =
        sessions.values().flatten().fold([0, 0], |t, c| [t[0] + c.tokens[0], t[1] + c.tokens[1]]);
    let calls: usize = sessions.values().map(Vec::len).sum();

    // The longest chains first (a call in a longer chain belongs to its workflow rather than to
    // a shorter chain inside it), by rank among as long; each call run by at most one workflow.
    let mut patterns: Vec<&workflow_mine::Pattern> = mined.patterns.iter().collect();
    patterns.sort_by_key(|p| std::cmp::Reverse(p.tools.len()));
    let mut chains = Vec::new();
    let mut kept_total = [0u64; 2];
    for pattern in patterns {
        let returned: Vec<usize> = pattern.levels.last().cloned().unwrap_or_default();
        let (mut runs, mut kept) = (0u64, [0u64; 2]);
        for (session, calls) in &sessions {
            let Some(taken) = covered.get_mut(session.as_str()) else { continue };
            let n = pattern.tools.len();
            let mut i = 0;
            while i + n <= calls.len() {
                let matches = (0..n).all(|k| !taken[i + k] && calls[i + k].tool == pattern.tools[k]);
                if !matches {
                    i += 1;
                    continue;
                }
                runs += 1;
                for k in 0..n {
                    taken[i + k] = true;
                    if !returned.contains(&k) {
                        kept[0] += calls[i + k].tokens[0];
                        kept[1] += calls[i + k].tokens[1];
                    }
                }
                i += n;
            }
        }
        kept_total = [kept_total[0] + kept[0], kept_total[1] + kept[1]];
        chains.push(json!({
            "chain": pattern.tools,
            "support": pattern.support,
            "runs": runs,
            "kept_o200k": kept[0],
            "kept_cl100k": kept[1],
        }));
    }
    let share = |kept: u64, total: u64| if total == 0 { 0.0 } else { kept as f64 / total as f64 };
    let report = json!({
        "sessions": sessions.len(),
        "calls": calls,
        "skipped_lines": skipped,
        "chains": chains,
        "result_tokens": { "o200k": total[0], "cl100k": total[1] },
        "kept": { "o200k": kept_total[0], "cl100k": kept_total[1] },
        "kept_share": { "o200k": share(kept_total[0], total[0]), "cl100k": share(kept_total[1], total[1]) },
    });
    match args.format {
        crate::Format::Json => println!("{report}"),
        crate::Format::Table => print!("{}", table(&report)),
    }
    Ok(())
}

fn table(report: &Value) -> String {
    let mut out = format!(
        "{} calls in {} sessions; their results are {} tokens (o200k), {} (cl100k)\n",
        report["calls"],
        report["sessions"],
        report["result_tokens"]["o200k"],
        report["result_tokens"]["cl100k"]
    );
    out.push_str(&format!("{:>4}  {:>6}  {:>12}  {:>12}  chain\n", "#", "runs", "kept o200k", "kept cl100k"));
    for (i, chain) in report["chains"].as_array().into_iter().flatten().enumerate() {
        let tools: Vec<&str> =
            chain["chain"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let number = |key: &str| chain[key].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "{:>4}  {:>6}  {:>12}  {:>12}  {}\n",
            i + 1,
            number("runs"),
            number("kept_o200k"),
            number("kept_cl100k"),
            tools.join(" -> ")
        ));
    }
    let pct = |key: &str| report["kept_share"][key].as_f64().unwrap_or(0.0) * 100.0;
    out.push_str(&format!(
        "kept out of the model: {} of {} tokens ({:.1} %, o200k), {} of {} ({:.1} %, cl100k)\n",
        report["kept"]["o200k"],
        report["result_tokens"]["o200k"],
        pct("o200k"),
        report["kept"]["cl100k"],
        report["result_tokens"]["cl100k"],
        pct("cl100k"),
    ));
    out
}
