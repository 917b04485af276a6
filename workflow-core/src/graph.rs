//! The graph of a workflow's steps: what each step needs, the order and levels they run in,
//! the cycles that forbid running, and which steps may not run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::model::{Names, Step, Trigger, Workflow};

/// For each step, the other steps it needs (by reference or `depends`), each with the span of
/// the first token that names it. Names that are not steps, and a step's own name, are left out.
pub fn edges<S>(workflow: &Workflow<S>) -> Vec<BTreeMap<usize, &S>> {
    edges_named(workflow, &workflow.names())
}

/// [`edges`], with the workflow's names looked up already.
fn edges_named<'a, S>(workflow: &'a Workflow<S>, names: &Names<'_>) -> Vec<BTreeMap<usize, &'a S>> {
    workflow
        .steps
        .iter()
        .enumerate()
        .map(|(me, step)| {
            let mut edges = BTreeMap::new();
            let named = step.refs().map(|(_, r)| (r.path.root.as_str(), &r.span));
            let ordered = step.depends.iter().chain(step.after.as_ref().map(|a| &a.step));
            for (name, span) in named.chain(ordered.map(|d| (d.value.as_str(), &d.span))) {
                if let Some(i) = names.step(name).filter(|&i| i != me) {
                    edges.entry(i).or_insert(span);
                }
            }
            edges
        })
        .collect()
}

/// The schedule of a workflow whose steps form a DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// For each step, the steps it needs, ascending.
    pub needs: Vec<Vec<usize>>,
    /// For each step, the steps whose outputs it reads, ascending.
    pub reads: Vec<Vec<usize>>,
    /// Step indices by level: a step's level is one more than the highest level it needs.
    pub levels: Vec<Vec<usize>>,
    /// For each step, whether it may not run (a condition, `after`, `on_error skip`, or a step
    /// it needs may not run): its output is then optional.
    pub skippable: Vec<bool>,
    /// For each step, its `after X failed | always`: the step `X` and the trigger.
    pub after: Vec<Option<(usize, Trigger)>>,
    /// For each step, the steps it needs only to have ended, however they ended: those its
    /// condition tests the status of (`<<x.$failed>>`) and reads nothing else of.
    pub any_end: Vec<Vec<usize>>,
}

/// How a step ended, as the steps after it see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ended {
    /// It gave an output (its own call's or its fallback's).
    Succeeded,
    /// It did not run: its condition was false, a step it needs did not succeed, or the run was
    /// stopping.
    Skipped,
    /// Its call failed.
    Failed,
    /// It was running when the run stopped; its call was cancelled.
    Cancelled,
}

/// How a step ended, as a condition tests it (`<<x.$failed>>`): its end, and whether a time
/// limit (`timeout`, `deadline`) cut it, for `$timed_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// How it ended.
    pub ended: Ended,
    /// Whether it failed because a time limit cut its last call.
    pub timed_out: bool,
}

impl Status {
    /// The answer to `$test` (`succeeded`, `failed`, `skipped`, `cancelled`, `timed_out`);
    /// `None` for a test that does not exist.
    pub fn test(self, test: &str) -> Option<bool> {
        Some(match test {
            "succeeded" => self.ended == Ended::Succeeded,
            "failed" => self.ended == Ended::Failed,
            "skipped" => self.ended == Ended::Skipped,
            "cancelled" => self.ended == Ended::Cancelled,
            "timed_out" => self.ended == Ended::Failed && self.timed_out,
            _ => return None,
        })
    }
}

impl Ended {
    fn describe(self) -> &'static str {
        match self {
            Ended::Succeeded => "succeeded",
            Ended::Skipped => "was skipped",
            Ended::Failed => "failed",
            Ended::Cancelled => "was cancelled",
        }
    }
}

/// Whether a step runs, by how the steps it needs ended ([`Graph::admit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// It runs (its condition, if any, decides next).
    Run,
    /// It is skipped because of how step `because` ended.
    Skip {
        /// The step it needs.
        because: usize,
        /// How that step ended.
        ended: Ended,
        /// Whether the step waited for `because` to fail (`after X failed`).
        awaited_failure: bool,
    },
    /// It does not start: the run is stopping after a failure, and the step has no `after`
    /// rule that makes it part of the wind-down.
    Stopping,
}

impl Admit {
    /// Why the step does not run, with `name` the id of the step it names: "`charge` failed",
    /// "`charge` succeeded, and this step runs only if it fails".
    pub fn reason(&self, name: &str) -> String {
        match *self {
            Admit::Run => String::new(),
            Admit::Skip { ended, awaited_failure: true, .. } => {
                format!("`{name}` {}, and this step runs only if it fails", ended.describe())
            }
            Admit::Skip { ended, .. } => format!("`{name}` {}", ended.describe()),
            Admit::Stopping => "the run is stopping after a failure".to_owned(),
        }
    }
}

impl Graph {
    /// For each step, whether the workflow returns its output: no other step needs it, so its
    /// output goes to the caller rather than to another step (what token accounting counts as
    /// returned, what a served workflow answers).
    pub fn returned(&self) -> Vec<bool> {
        let mut returned = vec![true; self.needs.len()];
        self.needs.iter().flatten().for_each(|&i| returned[i] = false);
        returned
    }

    /// The graph of `workflow`, or the cycles among its steps (each once, as a path of step
    /// indices that returns to its first).
    pub fn of<S>(workflow: &Workflow<S>) -> Result<Graph, Vec<Vec<usize>>> {
        Self::of_named(workflow, &workflow.names())
    }

    /// [`Graph::of`], with the workflow's names looked up already.
    pub fn of_named<S>(workflow: &Workflow<S>, names: &Names<'_>) -> Result<Graph, Vec<Vec<usize>>> {
        let needs = needs(workflow, names);
        let (order, waiting) = topological_order(&needs);
        if order.len() < needs.len() {
            return Err(cycles(&needs, &waiting));
        }
        Ok(Self::from_order(workflow, names, needs, &order))
    }

    /// A graph even when there are cycles, for the code that still type-checks a workflow with
    /// mistakes: the steps of a cycle are put after everything else, in written order.
    pub fn lenient<S>(workflow: &Workflow<S>) -> Graph {
        let names = workflow.names();
        let needs = needs(workflow, &names);
        let (mut order, _) = topological_order(&needs);
        let placed: BTreeSet<usize> = order.iter().copied().collect();
        order.extend((0..needs.len()).filter(|i| !placed.contains(i)));
        let position: Vec<usize> = {
            let mut p = vec![0; needs.len()];
            order.iter().enumerate().for_each(|(at, &i)| p[i] = at);
            p
        };
        // Drop the edges that go back in this order, so that what remains is a DAG.
        let needs = needs
            .iter()
            .enumerate()
            .map(|(i, ns)| ns.iter().copied().filter(|&n| position[n] < position[i]).collect())
            .collect();
        Self::from_order(workflow, &names, needs, &order)
    }

    fn from_order<S>(
        workflow: &Workflow<S>,
        names: &Names<'_>,
        needs: Vec<Vec<usize>>,
        order: &[usize],
    ) -> Graph {
        let reads_of: Vec<Vec<usize>> =
            workflow.steps.iter().enumerate().map(|(i, step)| reads(names, i, step)).collect();
        let mut level = vec![0usize; needs.len()];
        let mut skippable = vec![false; needs.len()];
        for &i in order {
            level[i] = needs[i].iter().map(|&n| level[n] + 1).max().unwrap_or(0);
            skippable[i] = may_skip(&workflow.steps[i]) || needs[i].iter().any(|&n| skippable[n]);
        }
        let depth = level.iter().copied().max().map_or(0, |m| m + 1);
        let mut levels = vec![Vec::new(); depth];
        for (i, &l) in level.iter().enumerate() {
            levels[l].push(i);
        }
        let after = workflow
            .steps
            .iter()
            .map(|s| {
                let a = s.after.as_ref()?;
                Some((names.step(&a.step.value)?, a.when.value))
            })
            .collect();
        let any_end = workflow
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let tested = s.refs().filter(|(_, r)| r.path.status_test().is_some());
                let tested =
                    ascending(tested.filter_map(|(_, r)| names.step(&r.path.root)).filter(|&n| n != i));
                let reads: &Vec<usize> = &reads_of[i];
                let depends: Vec<usize> = s.depends.iter().filter_map(|d| names.step(&d.value)).collect();
                tested.into_iter().filter(|n| !reads.contains(n) && !depends.contains(n)).collect()
            })
            .collect();
        Graph { needs, reads: reads_of, levels, skippable, after, any_end }
    }

    /// The trigger rule: whether step `i` runs, given how each step it needs ended (`ended`,
    /// asked only of those steps, which have all ended) and whether the run is stopping after a
    /// failure (`stopping`). One rule for both kinds of workflow:
    ///
    /// - while the run is stopping, only steps with `after X …` or a condition that tests how a
    ///   step ended start;
    /// - a step runs only if every step it needs succeeded, except the step named by its
    ///   `after` (`after X failed` runs only if `X` failed, `after X always` whatever `X` did)
    ///   and the steps whose status its condition tests (`<<x.$failed>>`), which need only to
    ///   have ended.
    pub fn admit(&self, i: usize, ended: impl Fn(usize) -> Ended, stopping: bool) -> Admit {
        let needs = self.needs.get(i).map_or(&[][..], Vec::as_slice);
        let any_end = self.any_end.get(i).map_or(&[][..], Vec::as_slice);
        admit(needs, self.after.get(i).copied().flatten(), any_end, ended, stopping)
    }

    /// For each step, the steps that need it.
    pub fn users(&self) -> Vec<Vec<usize>> {
        let mut users = vec![Vec::new(); self.needs.len()];
        for (i, ns) in self.needs.iter().enumerate() {
            for &n in ns {
                users[n].push(i);
            }
        }
        users
    }
}

/// [`Graph::admit`] for a step that needs the steps `needs` and may run `after` one of them, with
/// steps numbered as the caller numbers them (a compiled workflow numbers them by record).
pub fn admit(
    needs: &[usize],
    after: Option<(usize, Trigger)>,
    any_end: &[usize],
    ended: impl Fn(usize) -> Ended,
    stopping: bool,
) -> Admit {
    if stopping && after.is_none() && any_end.is_empty() {
        return Admit::Stopping;
    }
    for &n in needs {
        if any_end.contains(&n) {
            continue;
        }
        let end = ended(n);
        match after {
            Some((x, Trigger::Failed)) if x == n && end != Ended::Failed => {
                return Admit::Skip { because: n, ended: end, awaited_failure: true };
            }
            Some((x, _)) if x == n => {}
            _ if end != Ended::Succeeded => {
                return Admit::Skip { because: n, ended: end, awaited_failure: false };
            }
            _ => {}
        }
    }
    Admit::Run
}

/// For each step, the steps it needs, ascending.
fn needs<S>(workflow: &Workflow<S>, names: &Names<'_>) -> Vec<Vec<usize>> {
    let steps = workflow.steps.iter().enumerate();
    steps
        .map(|(me, step)| {
            let named = step.refs().map(|(_, r)| r.path.root.as_str());
            let named = named.chain(step.depends.iter().map(|d| d.value.as_str()));
            let named = named.chain(step.after.as_ref().map(|a| a.step.value.as_str()));
            ascending(named.filter_map(|name| names.step(name)).filter(|&i| i != me))
        })
        .collect()
}

/// The distinct indices, ascending.
fn ascending(indices: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut indices: Vec<usize> = indices.collect();
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// Whether a step may not run by its own clauses: a condition or `on_error skip`.
fn may_skip<S>(step: &Step<S>) -> bool {
    step.condition.is_some()
        || step.after.is_some()
        || step.on_error.as_ref().is_some_and(|o| o.value == crate::model::OnError::Skip)
}

/// The steps whose outputs step `me` reads, ascending.
fn reads<S>(names: &Names<'_>, me: usize, step: &Step<S>) -> Vec<usize> {
    let outputs = step.refs().filter(|(_, r)| r.path.status_test().is_none());
    ascending(outputs.filter_map(|(_, r)| names.step(&r.path.root)).filter(|&i| i != me))
}

/// Kahn's algorithm: steps with no order between them keep their written order. Returns the
/// order and, for each step, how many of its needs were never met (non-zero only on cycles).
pub fn topological_order(needs: &[Vec<usize>]) -> (Vec<usize>, Vec<usize>) {
    let mut waiting: Vec<usize> = needs.iter().map(Vec::len).collect();
    // Who needs each step, as one list: the users of step `n` are `users[first[n]..first[n + 1]]`.
    let mut first = vec![0usize; needs.len() + 1];
    needs.iter().flatten().for_each(|&n| first[n + 1] += 1);
    (0..needs.len()).for_each(|n| first[n + 1] += first[n]);
    let mut users = vec![0usize; first[needs.len()]];
    let mut next = first.clone();
    for (i, ns) in needs.iter().enumerate() {
        for &n in ns {
            users[next[n]] = i;
            next[n] += 1;
        }
    }
    // The lowest index first: a min-heap of the steps whose needs are all met.
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..needs.len()).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(needs.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[first[i]..first[i + 1]] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    (order, waiting)
}

/// The distinct cycles among the steps left waiting, found by an iterative depth-first search
/// (a workflow of any length cannot exhaust the stack).
fn cycles(needs: &[Vec<usize>], waiting: &[usize]) -> Vec<Vec<usize>> {
    let mut found: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    let mut state = vec![0u8; needs.len()]; // 0 new, 1 on the path, 2 done
    for start in (0..needs.len()).filter(|&i| waiting[i] > 0) {
        if state[start] != 0 {
            continue;
        }
        // The path from `start`, each node with the index of the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut edge)) = path.last_mut() {
            match needs[node].get(*edge).copied() {
                Some(next) => {
                    *edge += 1;
                    match state[next] {
                        0 => {
                            state[next] = 1;
                            path.push((next, 0));
                        }
                        1 => {
                            if let Some(pos) = path.iter().position(|&(n, _)| n == next) {
                                let cycle: Vec<usize> = path[pos..].iter().map(|&(n, _)| n).collect();
                                let mut key = cycle.clone();
                                key.sort_unstable();
                                found.entry(key).or_insert(cycle);
                            }
                        }
                        _ => {}
                    }
                }
                None => {
                    state[node] = 2;
                    path.pop();
                }
            }
        }
    }
    found.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::workflow;

    #[test]
    fn diamond_has_four_levels() {
        let wf = workflow(
            "a = t(v: <<x>>); b = t(v: <<a>>); c = t(v: <<a.n>>); d = t(v: <<b>>, w: <<c>>); e = t(v: 1) depends d;",
        );
        let g = Graph::of(&wf).unwrap();
        assert_eq!(g.levels, vec![vec![0], vec![1, 2], vec![3], vec![4]]);
        assert_eq!(g.needs[3], vec![1, 2]);
        assert_eq!(g.reads[4], Vec::<usize>::new());
        assert_eq!(g.skippable, vec![false; 5]);
    }

    #[test]
    fn skipping_propagates_to_dependents_only() {
        let wf = workflow(
            "a = t(v: 1); b = t(v: 2) if <<a.ok>>; c = t(v: <<b.n>>); d = t(v: <<a.n>>); e = t(v: 3) depends c;",
        );
        let g = Graph::of(&wf).unwrap();
        assert_eq!(g.skippable, vec![false, true, true, false, true]);
        let ended = |n| if n == 1 { Ended::Skipped } else { Ended::Succeeded };
        assert_eq!(
            g.admit(2, ended, false),
            Admit::Skip { because: 1, ended: Ended::Skipped, awaited_failure: false }
        );
        assert_eq!(g.admit(3, ended, false), Admit::Run);
    }

    #[test]
    fn cycles_are_found_once_each_and_a_long_ring_does_not_overflow() {
        let wf = workflow("a = t(v: <<b>>); b = t(v: <<a>>); c = t(v: <<d>>); d = t(v: 1) depends c;");
        assert_eq!(Graph::of(&wf).unwrap_err(), vec![vec![0, 1], vec![2, 3]]);
        let n = 10_000;
        let needs: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let (order, waiting) = topological_order(&needs);
        assert!(order.is_empty());
        assert_eq!(cycles(&needs, &waiting)[0].len(), n);
    }

    #[test]
    fn a_lenient_graph_orders_every_step() {
        let wf = workflow("a = t(v: <<b>>); b = t(v: <<a>>); c = t(v: <<a>>);");
        let g = Graph::lenient(&wf);
        assert_eq!(g.levels.iter().map(Vec::len).sum::<usize>(), 3);
    }
}
