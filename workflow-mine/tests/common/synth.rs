//! A synthetic usage log with planted chains of known support, success and data flow, a pair
//! of calls made in either order, and noise, from a fixed seed.

use std::io::{self, Write};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// What was planted, to check the miner against.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Truth {
    /// Sessions written with at least one event.
    pub sessions: u64,
    /// Events written.
    pub events: u64,
    /// Sessions with the frequent chain that often fails, and those whose chain succeeded.
    pub frequent: (u64, u64),
    /// Sessions with the rarer chain that always succeeds.
    pub reliable: u64,
    /// Sessions with the parallel chain in each order: notify first, tag first.
    pub parallel: (u64, u64),
}

/// The frequent chain: a user found, their profile, their orders, one cancelled (which fails
/// three times in five).
pub const FREQUENT: [&str; 4] = ["search_users", "get_profile", "list_orders", "cancel_order"];
/// The reliable chain: a repository fetched, tested, published.
pub const RELIABLE: [&str; 3] = ["fetch_repo", "run_tests", "publish"];
/// The parallel chain, with its two middle calls in either order.
pub const PARALLEL: [&str; 4] = ["open_ticket", "notify_team", "tag_ticket", "close_ticket"];

const NOISE: [&str; 20] = [
    "n_alpha",
    "n_bravo",
    "n_charlie",
    "n_delta",
    "n_echo",
    "n_foxtrot",
    "n_golf",
    "n_hotel",
    "n_india",
    "n_juliet",
    "n_kilo",
    "n_lima",
    "n_mike",
    "n_november",
    "n_oscar",
    "n_papa",
    "n_quebec",
    "n_romeo",
    "n_sierra",
    "n_tango",
];

/// One call: tool, arguments, result, success.
type Call = (&'static str, Value, Value, bool);

/// Writes `sessions` sessions to `out`, from `seed`: 3 in 8 hold the frequent chain, 9 in 40
/// the reliable one, 1 in 4 the parallel one, the rest noise only; every session has 0 to 3
/// noise calls before and after its chain. Some sessions are written out of `seq` order.
pub fn generate(seed: u64, sessions: u64, out: &mut impl Write) -> io::Result<Truth> {
    generate_until(seed, out, |s, _| s < sessions)
}

/// Writes sessions as [`generate`] does until there are at least `events` events.
pub fn generate_events(seed: u64, events: u64, out: &mut impl Write) -> io::Result<Truth> {
    generate_until(seed, out, |_, truth| truth.events < events)
}

fn generate_until(seed: u64, out: &mut impl Write, more: impl Fn(u64, &Truth) -> bool) -> io::Result<Truth> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut truth = Truth::default();
    let mut s = 0;
    while more(s, &truth) {
        s += 1;
        let s = s - 1;
        let mut calls: Vec<Call> = Vec::new();
        noise(&mut rng, &mut calls);
        match s % 40 {
            0..15 => {
                let ok = rng.random_bool(0.4);
                truth.frequent.0 += 1;
                truth.frequent.1 += u64::from(ok);
                frequent(&mut rng, ok, &mut calls);
            }
            15..24 => {
                truth.reliable += 1;
                reliable(&mut rng, &mut calls);
            }
            24..34 => {
                let notify_first = rng.random_bool(0.5);
                if notify_first {
                    truth.parallel.0 += 1;
                } else {
                    truth.parallel.1 += 1;
                }
                parallel(&mut rng, notify_first, &mut calls);
            }
            _ => {}
        }
        noise(&mut rng, &mut calls);
        let mut lines: Vec<String> = calls
            .into_iter()
            .enumerate()
            .map(|(seq, (tool, parameters, result, success))| {
                json!({"session_id": format!("synth-{s}"), "seq": seq, "timestamp": null, "tool_name": tool,
                       "parameters": parameters, "result": result, "success": success,
                       "duration_ms": null, "source": "synth"})
                .to_string()
            })
            .collect();
        if s % 7 == 3 {
            lines.shuffle(&mut rng);
        }
        truth.events += lines.len() as u64;
        truth.sessions += u64::from(!lines.is_empty());
        for line in lines {
            writeln!(out, "{line}")?;
        }
    }
    Ok(truth)
}

fn noise(rng: &mut StdRng, calls: &mut Vec<Call>) {
    for _ in 0..rng.random_range(0..=3) {
        let tool = NOISE[rng.random_range(0..NOISE.len())];
        calls.push((tool, json!({"x": rng.random_range(0..1000)}), json!({"v": rng.random::<u32>()}), true));
    }
}

fn frequent(rng: &mut StdRng, ok: bool, calls: &mut Vec<Call>) {
    let user = format!("u{}", rng.random_range(10_000..99_999));
    let query = format!("name-{}", rng.random_range(0..1_000_000));
    let order = format!("#W{}", rng.random_range(1_000_000..9_999_999));
    calls.push((
        "search_users",
        json!({"query": query, "limit": 5}),
        json!({"users": [{"id": user, "score": 0.9}]}),
        true,
    ));
    calls.push(("get_profile", json!({"user_id": user}), json!({"user_id": user, "tier": "gold"}), true));
    calls.push((
        "list_orders",
        json!({"user_id": user}),
        json!({"orders": [{"order_id": order, "total": 12.5}, {"order_id": "#W0000001", "total": 1.0}]}),
        true,
    ));
    let result = if ok { json!({"status": "cancelled"}) } else { json!("Error: order already shipped") };
    calls.push(("cancel_order", json!({"order_id": order, "reason": "duplicate"}), result, ok));
}

fn reliable(rng: &mut StdRng, calls: &mut Vec<Call>) {
    let repo = format!("acme/app-{}", rng.random_range(0..1_000_000));
    let sha = format!("{:x}", rng.random::<u64>());
    let version = format!("1.{}.{}", rng.random_range(0..100), rng.random_range(0..100));
    calls.push(("fetch_repo", json!({"repo": repo}), json!({"head": {"sha": sha}}), true));
    calls.push((
        "run_tests",
        json!({"repo": repo, "commit": sha}),
        json!({"passed": true, "version": version}),
        true,
    ));
    calls.push(("publish", json!({"version": version, "channel": "stable"}), json!({"ok": true}), true));
}

fn parallel(rng: &mut StdRng, notify_first: bool, calls: &mut Vec<Call>) {
    let ticket = format!("T-{}", rng.random_range(100_000..999_999));
    let title = format!("issue {}", rng.random_range(0..1_000_000));
    calls.push(("open_ticket", json!({"title": title}), json!({"ticket": {"id": ticket}}), true));
    let notify: Call =
        ("notify_team", json!({"ticket_id": ticket, "channel": "#support"}), json!({"sent": true}), true);
    let tag: Call =
        ("tag_ticket", json!({"ticket_id": ticket, "tag": "urgent"}), json!({"tags": ["urgent"]}), true);
    if notify_first {
        calls.extend([notify, tag]);
    } else {
        calls.extend([tag, notify]);
    }
    let resolution = format!("fixed in {}", rng.random_range(0..1_000_000));
    calls.push((
        "close_ticket",
        json!({"ticket_id": ticket, "resolution": resolution}),
        json!({"closed": true}),
        true,
    ));
}
