//! `PatternDetector`: the two reads of the logs, counting, ranking, and the data flow of the
//! patterns kept.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use crate::count::{self, Chains, Counts, Limits};
use crate::error::{BadLine, LineRef, MineError};
use crate::event::Event;
use crate::flow::{self, Binding, Bound, StepBindings, Vote};
use crate::read::{LogSource, ReadOptions, Wanted, read_source};
use crate::session::{Db, Sessions};

/// The least support a pattern needs: a number of sessions, or a share of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinSupport {
    /// At least this many sessions.
    Sessions(u64),
    /// At least this share of the sessions (from 0 to 1), rounded up.
    Fraction(f64),
}

impl MinSupport {
    /// The number of sessions needed out of `sessions` (at least 1).
    pub fn count(self, sessions: u64) -> u64 {
        match self {
            MinSupport::Sessions(n) => n.max(1),
            MinSupport::Fraction(f) => ((f * sessions as f64).ceil() as u64).max(1),
        }
    }
}

/// `12` (sessions) or `2.5%` (of the sessions).
impl FromStr for MinSupport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(MinSupport::Fraction(p / 100.0)),
                _ => Err(format!("expected a percentage from 0% to 100%, found `{s}`")),
            }
        } else {
            s.parse().map(MinSupport::Sessions).map_err(|_| {
                format!("expected a number of sessions such as `5` or a share such as `2%`, found `{s}`")
            })
        }
    }
}

/// What [`PatternDetector`] looks for.
#[derive(Debug, Clone)]
pub struct MineOptions {
    /// The least support of a pattern (2 sessions by default).
    pub min_support: MinSupport,
    /// The fewest tools in a pattern (2).
    pub min_len: usize,
    /// The most tools in a pattern (5).
    pub max_len: usize,
    /// Count chains with other calls between their tools (subsequences) rather than only runs
    /// of calls in a row (off).
    pub gaps: bool,
    /// Count a run of calls of one tool as one call (off).
    pub collapse_repeats: bool,
    /// Drop a pattern that a longer pattern with the same support contains (on).
    pub closed_only: bool,
    /// How many patterns to return, the best first (10); `None` for all.
    pub top: Option<usize>,
    /// How many occurrences of each pattern are read back for its data flow (100): the first
    /// ones, in the order of the sessions in the logs.
    pub max_occurrences: usize,
    /// The share of occurrences a reference or a literal must hold in to be chosen over an
    /// input (0.5).
    pub min_share: f64,
    /// How the logs are read.
    pub read: ReadOptions,
}

impl Default for MineOptions {
    fn default() -> Self {
        MineOptions {
            min_support: MinSupport::Sessions(2),
            min_len: 2,
            max_len: 5,
            gaps: false,
            collapse_repeats: false,
            closed_only: true,
            top: Some(10),
            max_occurrences: 100,
            min_share: 0.5,
            read: ReadOptions::default(),
        }
    }
}

/// How far a read has come, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// 1 while counting, 2 while reading back the occurrences of the patterns found.
    pub pass: u8,
    /// Bytes of the logs read in this pass, as stored (compressed, for gzip).
    pub bytes: u64,
    /// Bytes of the logs in all, when known.
    pub total: Option<u64>,
}

/// What reading the logs found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadStats {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Events kept (duplicates left out).
    pub events: u64,
    /// Sessions with at least one event.
    pub sessions: u64,
    /// Lines skipped as bad.
    pub skipped: u64,
    /// The first bad lines ([`ReadOptions::max_reports`] of them).
    pub bad_lines: Vec<BadLine>,
    /// Events that repeat the `session_id` and `seq` of an earlier one, and were left out.
    pub duplicates: u64,
    /// Where the first duplicates are.
    pub duplicate_lines: Vec<LineRef>,
}

/// Sessions that start alike: from the same tool, given the same argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextGroup {
    /// The tool of the session's first call.
    pub first_tool: String,
    /// The argument names of that call, sorted.
    pub argument_keys: Vec<String>,
    /// How many sessions start so.
    pub sessions: u64,
}

/// A recurring chain of tool calls, with what its data flow and order say.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// A name for its workflow: `first_tool_to_last_tool`, unique among the patterns returned.
    pub name: String,
    /// The tools, in the order called.
    pub tools: Vec<String>,
    /// Sessions in which the chain occurs.
    pub support: u64,
    /// Sessions whose first occurrence of the chain succeeded (every call of it did).
    pub successes: u64,
    /// `successes / support`.
    pub success_rate: f64,
    /// `support × success_rate`, by which patterns are ranked.
    pub score: f64,
    /// A session with the chain (its first with a successful occurrence, else its first).
    pub example_session: String,
    /// The context groups of its sessions: index in [`Mined::groups`] and sessions, most first.
    pub groups: Vec<(usize, u64)>,
    /// The steps: one per tool, with the bindings of its arguments.
    pub steps: Vec<MinedStep>,
    /// The workflow inputs, in the order first used.
    pub inputs: Vec<String>,
    /// The steps by level (indexes into `steps`): each level after the one before it, the steps
    /// of one level in either order.
    pub levels: Vec<Vec<usize>>,
    /// The occurrences the bindings were voted over ([`MineOptions::max_occurrences`] at most).
    pub occurrences: Vec<Occurrence>,
}

/// Where a pattern occurs: a session and the `seq` of each of its calls there (the first call
/// of each run, when repeats are collapsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The session.
    pub session: String,
    /// The `seq` of the call of each step.
    pub seqs: Vec<u64>,
}

/// One step of a mined pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct MinedStep {
    /// Its id: the tool's name, made an identifier, numbered from the second use (`get_user_2`).
    pub id: String,
    /// The tool, as the logs name it.
    pub tool: String,
    /// Its arguments and their bindings, in the order the calls gave them.
    pub args: StepBindings,
}

/// What [`PatternDetector::mine`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Mined {
    /// What the read found.
    pub stats: ReadStats,
    /// The context groups, in the order first seen.
    pub groups: Vec<ContextGroup>,
    /// The patterns, best first: by score, then support, then the longer chain, then the tool
    /// names in lexicographic order.
    pub patterns: Vec<Pattern>,
}

/// Finds the tool chains that recur in usage logs. See the [crate docs](crate).
#[derive(Debug, Clone, Default)]
pub struct PatternDetector {
    options: MineOptions,
}

impl PatternDetector {
    /// A detector with the default [`MineOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A detector with these options.
    pub fn with_options(options: MineOptions) -> Self {
        PatternDetector { options }
    }

    /// Its options.
    pub fn options(&self) -> &MineOptions {
        &self.options
    }

    /// Sets [`MineOptions::min_support`].
    pub fn min_support(mut self, min: MinSupport) -> Self {
        self.options.min_support = min;
        self
    }

    /// Sets [`MineOptions::max_len`].
    pub fn max_len(mut self, max: usize) -> Self {
        self.options.max_len = max;
        self
    }

    /// Sets [`MineOptions::gaps`].
    pub fn gaps(mut self, gaps: bool) -> Self {
        self.options.gaps = gaps;
        self
    }

    /// Sets [`MineOptions::collapse_repeats`].
    pub fn collapse_repeats(mut self, collapse: bool) -> Self {
        self.options.collapse_repeats = collapse;
        self
    }

    /// Sets [`MineOptions::closed_only`].
    pub fn closed_only(mut self, closed: bool) -> Self {
        self.options.closed_only = closed;
        self
    }

    /// Sets [`MineOptions::max_occurrences`].
    pub fn max_occurrences(mut self, max: usize) -> Self {
        self.options.max_occurrences = max;
        self
    }

    /// Sets [`MineOptions::top`].
    pub fn top(mut self, top: Option<usize>) -> Self {
        self.options.top = top;
        self
    }

    /// Sets [`ReadOptions::max_bad_ratio`].
    pub fn max_bad_ratio(mut self, ratio: f64) -> Self {
        self.options.read.max_bad_ratio = ratio;
        self
    }

    /// Sets [`ReadOptions::max_line_bytes`].
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.options.read.max_line_bytes = bytes;
        self
    }

    /// Mines the logs.
    pub fn mine(&self, sources: &[LogSource]) -> Result<Mined, MineError> {
        self.mine_with_progress(sources, &mut |_| {})
    }

    /// Mines the logs, telling `progress` how far each read has come.
    pub fn mine_with_progress(
        &self,
        sources: &[LogSource],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Mined, MineError> {
        let o = &self.options;
        let total = sources.iter().map(LogSource::len).sum::<Option<u64>>();
        let (mut sessions, mut stats) =
            first_read(sources, &o.read, &mut |pass, bytes| progress(Progress { pass, bytes, total }))?;
        let db = Db::new(&sessions, o.collapse_repeats);
        let min_support = u32::try_from(o.min_support.count(stats.sessions)).unwrap_or(u32::MAX);
        let limits =
            Limits { min_support, min_len: o.min_len.max(1), max_len: o.max_len.max(o.min_len.max(1)) };
        let tools = sessions.tools.len();
        let mut chains =
            if o.gaps { count::gapped(&db, tools, limits) } else { count::contiguous(&db, tools, limits) };
        let all = chains.clone();
        if o.closed_only {
            count::keep_closed(&mut chains, o.gaps);
        }
        let ranked = rank(chains, &sessions.tools.names);
        // A few more than asked for, as orders of one parallel pattern are merged below.
        let wanted = o.top.map_or(ranked.len(), |t| ranked.len().min(t.saturating_mul(2)));
        let chosen = &ranked[..wanted];
        let found = find(&db, &sessions, chosen, o.gaps, o.max_occurrences);
        let events = second_read(sources, &o.read, &sessions, &found, &mut |pass, bytes| {
            progress(Progress { pass, bytes, total })
        })?;
        let mut patterns = Vec::new();
        let mut seen_shapes: HashSet<Vec<Vec<u32>>> = HashSet::new();
        let mut names: Vec<String> = Vec::new();
        for ((chain, counts), found) in chosen.iter().zip(&found) {
            if o.top.is_some_and(|t| patterns.len() >= t) {
                break;
            }
            let pattern = build(chain, *counts, found, &sessions, &events, &all, o, &mut names);
            // One pattern for the orders of a parallel level: the best ranked.
            let shape = pattern
                .levels
                .iter()
                .map(|l| {
                    let mut tools: Vec<u32> = l.iter().map(|&k| chain[k]).collect();
                    tools.sort_unstable();
                    tools
                })
                .collect();
            if seen_shapes.insert(shape) {
                patterns.push(pattern);
            } else {
                names.retain(|n| *n != pattern.name);
            }
        }
        let groups = group_list(&mut sessions);
        stats.sessions = sessions.calls.len() as u64;
        Ok(Mined { stats, groups, patterns })
    }
}

/// The first read: sessions, and the stats of the read.
fn first_read(
    sources: &[LogSource],
    options: &ReadOptions,
    progress: &mut dyn FnMut(u8, u64),
) -> Result<(Sessions, ReadStats), MineError> {
    let mut sessions = Sessions::default();
    let mut stats = ReadStats::default();
    let mut done = 0;
    for (file, source) in sources.iter().enumerate() {
        let file = u32::try_from(file).unwrap_or(u32::MAX);
        let mut bad = |b: BadLine| {
            if stats.bad_lines.len() < options.max_reports {
                stats.bad_lines.push(b);
            }
        };
        let count = read_source(
            source,
            options,
            &mut |n| {
                done += n;
                progress(1, done);
            },
            None,
            &mut |line, event| sessions.add(file, line, event),
            &mut bad,
        )?;
        stats.lines += count.lines;
        stats.skipped += count.bad;
    }
    let duplicates = sessions.finish();
    stats.duplicates = duplicates.len() as u64;
    stats.duplicate_lines = duplicates
        .iter()
        .take(options.max_reports)
        .map(|c| LineRef { file: sources[c.file as usize].name(), line: c.line })
        .collect();
    stats.events = sessions.events();
    stats.sessions = sessions.calls.len() as u64;
    Ok((sessions, stats))
}

/// Chains ranked: score, then support, then the longer, then the tool names.
fn rank(chains: Chains, tools: &[String]) -> Vec<(Vec<u32>, Counts)> {
    let mut ranked: Vec<(Vec<u32>, Counts)> = chains.into_iter().collect();
    let names = |c: &[u32]| c.iter().map(|&t| tools[t as usize].as_str()).collect::<Vec<_>>();
    ranked.sort_by(|(a, ca), (b, cb)| {
        cb.ok
            .cmp(&ca.ok)
            .then(cb.support.cmp(&ca.support))
            .then(b.len().cmp(&a.len()))
            .then_with(|| names(a).cmp(&names(b)))
    });
    ranked
}

/// Where a chain occurs.
#[derive(Debug, Default)]
struct Found {
    /// Sessions per context group.
    groups: HashMap<u32, u64>,
    /// The example session.
    example: Option<u32>,
    /// The first occurrences: the session and the index of each call in its calls.
    occurrences: Vec<(u32, Vec<u32>)>,
}

/// The first occurrence of each chain in each session, up to `max` kept per chain.
fn find(db: &Db, sessions: &Sessions, chains: &[(Vec<u32>, Counts)], gaps: bool, max: usize) -> Vec<Found> {
    let mut found: Vec<Found> = chains.iter().map(|_| Found::default()).collect();
    let mut first_ok: Vec<Option<u32>> = vec![None; chains.len()];
    for s in 0..db.sessions() {
        let range = db.range(s);
        let seq = &db.tools[range.clone()];
        for (c, (chain, _)) in chains.iter().enumerate() {
            let at: Option<Vec<usize>> = if gaps {
                let mut at = Vec::with_capacity(chain.len());
                let mut from = 0;
                for &tool in chain {
                    match seq[from..].iter().position(|&t| t == tool) {
                        Some(i) => {
                            at.push(from + i);
                            from += i + 1;
                        }
                        None => break,
                    }
                }
                (at.len() == chain.len()).then_some(at)
            } else {
                seq.windows(chain.len())
                    .position(|w| w == chain.as_slice())
                    .map(|i| (i..i + chain.len()).collect())
            };
            let Some(at) = at else { continue };
            let session = u32::try_from(s).unwrap_or(u32::MAX);
            let f = &mut found[c];
            *f.groups.entry(sessions.group[s]).or_insert(0) += 1;
            f.example.get_or_insert(session);
            if first_ok[c].is_none() && at.iter().all(|&i| db.ok[range.start + i]) {
                first_ok[c] = Some(session);
            }
            if f.occurrences.len() < max {
                f.occurrences.push((session, at.iter().map(|&i| db.call[range.start + i]).collect()));
            }
        }
    }
    for (f, ok) in found.iter_mut().zip(first_ok) {
        if ok.is_some() {
            f.example = ok;
        }
    }
    found
}

/// The second read: the events of the occurrences kept, by file and line.
fn second_read(
    sources: &[LogSource],
    options: &ReadOptions,
    sessions: &Sessions,
    found: &[Found],
    progress: &mut dyn FnMut(u8, u64),
) -> Result<HashMap<(u32, u64), Event>, MineError> {
    let mut wanted: Vec<HashSet<u64>> = vec![HashSet::new(); sources.len()];
    for (s, calls) in found.iter().flat_map(|f| &f.occurrences) {
        for &c in calls {
            let call = sessions.calls[*s as usize][c as usize];
            wanted[call.file as usize].insert(call.line);
        }
    }
    let mut events = HashMap::new();
    let mut done = 0;
    for (file, source) in sources.iter().enumerate() {
        if wanted[file].is_empty() {
            continue;
        }
        let lines = &wanted[file];
        let id = u32::try_from(file).unwrap_or(u32::MAX);
        read_source(
            source,
            options,
            &mut |n| {
                done += n;
                progress(2, done);
            },
            Some(Wanted {
                line: &|line| lines.contains(&line),
                last: lines.iter().copied().max().unwrap_or(0),
            }),
            &mut |line, raw| {
                if let Ok(event) = raw.to_event() {
                    events.insert((id, line), event);
                }
            },
            &mut |_| {},
        )?;
    }
    Ok(events)
}

/// A pattern, with its bindings and levels.
#[allow(clippy::too_many_arguments)]
fn build(
    chain: &[u32],
    counts: Counts,
    found: &Found,
    sessions: &Sessions,
    events: &HashMap<(u32, u64), Event>,
    all: &Chains,
    options: &MineOptions,
    names: &mut Vec<String>,
) -> Pattern {
    let tools: Vec<String> = chain.iter().map(|&t| sessions.tools.names[t as usize].clone()).collect();
    let mut kept = Vec::new();
    let occurrences: Vec<Vec<&Event>> = found
        .occurrences
        .iter()
        .filter_map(|(s, calls)| {
            let calls: Vec<_> = calls.iter().map(|&c| sessions.calls[*s as usize][c as usize]).collect();
            let events =
                calls.iter().map(|c| events.get(&(c.file, c.line))).collect::<Option<Vec<&Event>>>()?;
            let session = sessions.ids.names[*s as usize].clone();
            kept.push(Occurrence { session, seqs: calls.iter().map(|c| c.seq).collect() });
            Some(events)
        })
        .collect();
    let (args, inputs) = flow::bindings(&occurrences, chain.len(), Vote { min_share: options.min_share });
    let levels = flow::levels(&args, |k| {
        let mut swapped = chain.to_vec();
        swapped.swap(k - 1, k);
        all.contains_key(&swapped)
    });
    let mut ids: Vec<String> = Vec::new();
    let steps: Vec<MinedStep> = tools
        .iter()
        .zip(args)
        .map(|(tool, args)| {
            let id = flow::unique(&flow::identifier(tool), &ids);
            ids.push(id.clone());
            MinedStep { id, tool: tool.clone(), args }
        })
        .collect();
    let (steps, inputs) = apart_from_steps(steps, inputs, &ids);
    let mut groups: Vec<(usize, u64)> = found.groups.iter().map(|(&g, &n)| (g as usize, n)).collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let base = format!(
        "{}_to_{}",
        flow::identifier(tools.first().map_or("", String::as_str)),
        flow::identifier(tools.last().map_or("", String::as_str))
    );
    let name = flow::unique(&base, names);
    names.push(name.clone());
    let support = u64::from(counts.support);
    let successes = u64::from(counts.ok);
    let success_rate = if support == 0 { 0.0 } else { successes as f64 / support as f64 };
    Pattern {
        name,
        tools,
        support,
        successes,
        success_rate,
        score: support as f64 * success_rate,
        example_session: found.example.map_or_else(String::new, |s| sessions.ids.names[s as usize].clone()),
        groups,
        steps,
        inputs,
        levels,
        occurrences: kept,
    }
}

/// Inputs renamed `name_input` where a step has their name: steps and inputs are separate
/// namespaces in a workflow.
fn apart_from_steps(
    mut steps: Vec<MinedStep>,
    mut inputs: Vec<String>,
    ids: &[String],
) -> (Vec<MinedStep>, Vec<String>) {
    for i in 0..inputs.len() {
        if !ids.contains(&inputs[i]) {
            continue;
        }
        let taken: Vec<String> = ids.iter().chain(&inputs).cloned().collect();
        let renamed = flow::unique(&format!("{}_input", inputs[i]), &taken);
        for (_, b) in steps.iter_mut().flat_map(|s| &mut s.args) {
            if b.bound == Bound::Input(inputs[i].clone()) {
                b.bound = Bound::Input(renamed.clone());
            }
        }
        inputs[i] = renamed;
    }
    (steps, inputs)
}

fn group_list(sessions: &mut Sessions) -> Vec<ContextGroup> {
    let mut counts = vec![0u64; sessions.groups.len()];
    for &g in &sessions.group {
        counts[g as usize] += 1;
    }
    sessions
        .groups
        .iter()
        .zip(counts)
        .map(|((tool, keys), n)| ContextGroup {
            first_tool: sessions.tools.names.get(*tool as usize).cloned().unwrap_or_default(),
            argument_keys: keys.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
            sessions: n,
        })
        .collect()
}

impl Pattern {
    /// The step ids of each level.
    pub fn level_ids(&self) -> Vec<Vec<String>> {
        self.levels.iter().map(|l| l.iter().map(|&k| self.steps[k].id.clone()).collect()).collect()
    }

    /// The binding of argument `arg` of step `step` (by id).
    pub fn binding(&self, step: &str, arg: &str) -> Option<&Binding> {
        let step = self.steps.iter().find(|s| s.id == step)?;
        step.args.iter().find(|(a, _)| a == arg).map(|(_, b)| b)
    }
}
