//! The Rust side of `benches/mine/run.py`: writes the synthetic log, and counts its n-grams the
//! plain way (the floor the miner is measured against).
//!
//! ```text
//! cargo run --release -p workflow-mine --example mine_bench -- gen LOG EVENTS SEED
//! cargo run --release -p workflow-mine --example mine_bench -- floor LOG MAX_LEN
//! ```

#[allow(dead_code)]
#[path = "../tests/common/synth.rs"]
mod synth;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use serde::Deserialize;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["gen", path, events, seed] => {
            let mut out = BufWriter::new(File::create(path)?);
            let truth = synth::generate_events(seed.parse()?, events.parse()?, &mut out)?;
            out.flush()?;
            println!("{{\"events\": {}, \"sessions\": {}}}", truth.events, truth.sessions);
        }
        ["floor", path, max_len] => floor(path, max_len.parse()?)?,
        _ => return Err("usage: mine_bench gen LOG EVENTS SEED | floor LOG MAX_LEN".into()),
    }
    Ok(())
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    session_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    tool_name: std::borrow::Cow<'a, str>,
}

/// Windows of 2 to `max_len` tool names over each session's calls, as the log lists them,
/// counted in a `HashMap`: what any n-gram count of a log has to do.
fn floor(path: &str, max_len: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut tools: HashMap<String, u32> = HashMap::new();
    let mut counts: HashMap<Vec<u32>, u64> = HashMap::new();
    let mut session = String::new();
    let mut calls: Vec<u32> = Vec::new();
    let flush = |calls: &mut Vec<u32>, counts: &mut HashMap<Vec<u32>, u64>| {
        for n in 2..=max_len {
            for w in calls.windows(n) {
                *counts.entry(w.to_vec()).or_insert(0) += 1;
            }
        }
        calls.clear();
    };
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        let event: Line<'_> = serde_json::from_str(&line)?;
        if event.session_id != session {
            flush(&mut calls, &mut counts);
            session = event.session_id.into_owned();
        }
        let next = tools.len() as u32;
        calls.push(*tools.entry(event.tool_name.into_owned()).or_insert(next));
    }
    flush(&mut calls, &mut counts);
    let best = counts.values().max().copied().unwrap_or(0);
    println!("{{\"ngrams\": {}, \"most\": {best}}}", counts.len());
    Ok(())
}
