//! `workflow mine LOG...`: patterns of usage logs as a table, JSON or `workflow!` source.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use workflow_mine::{LogSource, MinSupport, Mined, PatternDetector, Progress};

/// The arguments of `workflow mine`.
#[derive(Debug, Args)]
pub struct MineArgs {
    /// Usage logs: JSON lines, one tool call a line, plain or gzip.
    #[arg(value_name = "LOG", required = true)]
    logs: Vec<PathBuf>,
    /// The least support of a pattern: a number of sessions (`5`) or a share of them (`2%`).
    #[arg(long, value_name = "N|P%", default_value = "2", value_parser = parse_support)]
    min_support: MinSupport,
    /// The most tools in a pattern.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=64))]
    max_len: u64,
    /// How many patterns to show, the best first.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Count a run of calls of one tool as one call.
    #[arg(long)]
    collapse_repeats: bool,
    /// Count chains with other calls between their tools.
    #[arg(long)]
    gaps: bool,
    /// The share of a file's lines that may be bad before the read fails, from 0 to 1.
    #[arg(long, value_name = "F", default_value_t = 0.01, value_parser = parse_ratio)]
    max_bad_ratio: f64,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// How `workflow mine` prints its patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table of the chains, their support, success rate and score.
    Table,
    /// One JSON object: the read's stats and the patterns, each with its template and source.
    Json,
    /// The `workflow!` source of each pattern.
    Dsl,
}

fn parse_support(text: &str) -> Result<MinSupport, String> {
    text.parse()
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a ratio from 0 to 1 such as `0.01`, found `{text}`")),
    }
}

/// Mines the logs and prints the patterns; the error is one line.
pub fn run(args: &MineArgs) -> Result<(), String> {
    let detector = PatternDetector::new()
        .min_support(args.min_support)
        .max_len(usize::try_from(args.max_len).unwrap_or(usize::MAX))
        .top(Some(args.top))
        .collapse_repeats(args.collapse_repeats)
        .gaps(args.gaps)
        .max_bad_ratio(args.max_bad_ratio);
    let sources: Vec<LogSource> = args.logs.iter().map(LogSource::path).collect();
    let bar = progress_bar(&sources);
    let mined = detector
        .mine_with_progress(&sources, &mut |p: Progress| {
            if let Some(bar) = &bar {
                if p.pass == 2 && bar.position() > p.bytes {
                    bar.set_message("reading back the patterns' calls");
                }
                bar.set_position(p.bytes);
            }
        })
        .map_err(|e| e.to_string());
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mined = mined?;
    for bad in &mined.stats.bad_lines {
        eprintln!("warning: skipped {bad}");
    }
    for dup in &mined.stats.duplicate_lines {
        eprintln!("warning: skipped {}:{}: a duplicate of an earlier event", dup.file, dup.line);
    }
    let text = match args.format {
        Format::Table => table(&mined),
        Format::Json => json(&mined).to_string() + "\n",
        Format::Dsl => dsl(&mined),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// A bar on stderr for logs of more than 16 MiB, when stderr is a terminal.
fn progress_bar(sources: &[LogSource]) -> Option<ProgressBar> {
    let total: u64 = sources.iter().filter_map(LogSource::len).sum();
    if total < 16 << 20 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("counting chains");
    Some(bar)
}

fn table(mined: &Mined) -> String {
    let s = &mined.stats;
    let mut out = format!(
        "{} events in {} sessions ({} lines, {} skipped, {} duplicates); {} patterns\n",
        s.events,
        s.sessions,
        s.lines,
        s.skipped,
        s.duplicates,
        mined.patterns.len()
    );
    if mined.patterns.is_empty() {
        return out;
    }
    out.push_str(&format!("{:>4}  {:>8}  {:>8}  {:>8}  chain\n", "#", "support", "success", "score"));
    for (i, p) in mined.patterns.iter().enumerate() {
        out.push_str(&format!(
            "{:>4}  {:>8}  {:>7.1}%  {:>8.1}  {}\n",
            i + 1,
            p.support,
            100.0 * p.success_rate,
            p.score,
            p.tools.join(" -> ")
        ));
    }
    out
}

fn json(mined: &Mined) -> Value {
    let s = &mined.stats;
    let patterns: Vec<Value> = mined
        .patterns
        .iter()
        .map(|p| {
            let groups: Vec<Value> = p
                .groups
                .iter()
                .map(|&(g, n)| {
                    let group = &mined.groups[g];
                    json!({"first_tool": group.first_tool, "argument_keys": group.argument_keys, "sessions": n})
                })
                .collect();
            json!({
                "name": p.name,
                "tools": p.tools,
                "support": p.support,
                "success_rate": p.success_rate,
                "score": p.score,
                "example_session": p.example_session,
                "levels": p.level_ids(),
                "groups": groups,
                "template": serde_json::to_value(p.template()).unwrap_or(Value::Null),
                "dsl": p.dsl().ok(),
            })
        })
        .collect();
    json!({
        "stats": {
            "lines": s.lines,
            "events": s.events,
            "sessions": s.sessions,
            "skipped": s.bad_lines.iter().map(|b| json!({"file": b.file, "line": b.line, "reason": b.reason.to_string()})).collect::<Vec<_>>(),
            "skipped_count": s.skipped,
            "duplicates": s.duplicate_lines.iter().map(|d| d.line).collect::<Vec<_>>(),
            "duplicate_count": s.duplicates,
        },
        "patterns": patterns,
    })
}

fn dsl(mined: &Mined) -> String {
    let mut out = String::new();
    for p in &mined.patterns {
        if !out.is_empty() {
            out.push('\n');
        }
        match p.dsl() {
            Ok(source) => out.push_str(&source),
            Err(e) => out.push_str(&format!("// {}: {e}\n", p.name)),
        }
    }
    out
}
