//! Data flow, voted over the occurrences of a chain: each argument of each call is bound to a
//! field of an earlier call's result, a literal or a workflow input; calls that run in either
//! order with no data flow between them share a level.

use std::collections::HashMap;

use serde_json::Value;
use workflow_core::ast::Segment;

use crate::event::Event;

/// What an argument of a mined step is bound to.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A part of an earlier step's result: `<<step.orders[0].order_id>>`, or the whole result
    /// when `path` is empty.
    Ref {
        /// The earlier step, by index in the pattern.
        step: usize,
        /// The path into its result.
        path: Vec<Segment>,
    },
    /// The same value in the occurrences.
    Literal(Value),
    /// A workflow input, by name.
    Input(String),
}

/// An argument's binding and the share of the occurrences it holds in.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// What the argument is bound to.
    pub bound: Bound,
    /// The share of occurrences in which it holds, from 0 to 1: the value was at that path of
    /// that result, or was that literal; for an input, the value came from no earlier result.
    pub share: f64,
}

/// The bindings of one step: its arguments, in the order the calls gave them.
pub(crate) type StepBindings = Vec<(String, Binding)>;

/// How bindings are voted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vote {
    /// The share a reference or a literal must hold in to be chosen.
    pub min_share: f64,
}

/// The bindings of every step of a chain, from its occurrences (each the chain's events, in
/// order), and the names of the inputs, in the order first used.
pub(crate) fn bindings(
    occurrences: &[Vec<&Event>],
    len: usize,
    vote: Vote,
) -> (Vec<StepBindings>, Vec<String>) {
    let n = occurrences.len();
    let mut steps = Vec::with_capacity(len);
    // For each input binding: its step, argument and the value in each occurrence.
    let mut inputs: Vec<(usize, String, Vec<Option<&Value>>)> = Vec::new();
    for k in 0..len {
        let mut bound = Vec::new();
        for name in arguments(occurrences, k) {
            let values: Vec<Option<&Value>> =
                occurrences.iter().map(|o| o.get(k).and_then(|e| e.parameters.get(&name))).collect();
            let binding = vote_one(occurrences, k, &values, n, vote);
            if let Bound::Input(_) = binding.bound {
                inputs.push((k, name.clone(), values));
            }
            bound.push((name, binding));
        }
        steps.push(bound);
    }
    // One input for the arguments that always receive the same value, named after the first.
    let mut names: Vec<String> = Vec::new();
    let mut seen: Vec<(String, &Vec<Option<&Value>>)> = Vec::new();
    for (k, arg, values) in &inputs {
        let always_present = values.iter().all(Option::is_some);
        let same = seen.iter().find(|(_, v)| always_present && *v == values).map(|(name, _)| name.clone());
        let name = same.unwrap_or_else(|| {
            let name = unique(&identifier(arg), &names);
            names.push(name.clone());
            seen.push((name.clone(), values));
            name
        });
        for (a, b) in &mut steps[*k] {
            if a == arg {
                b.bound = Bound::Input(name.clone());
            }
        }
    }
    (steps, names)
}

/// The arguments given in at least half of the occurrences of step `k`, in the order of the
/// first occurrence that gives each.
fn arguments(occurrences: &[Vec<&Event>], k: usize) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for o in occurrences {
        let Some(event) = o.get(k) else { continue };
        for name in event.parameters.keys() {
            let c = count.entry(name.as_str()).or_insert(0);
            if *c == 0 {
                order.push(name.clone());
            }
            *c += 1;
        }
    }
    order.retain(|name| 2 * count.get(name.as_str()).copied().unwrap_or(0) >= occurrences.len());
    order
}

fn vote_one(
    occurrences: &[Vec<&Event>],
    k: usize,
    values: &[Option<&Value>],
    n: usize,
    vote: Vote,
) -> Binding {
    let share = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    // References: each (step, path) counted once per occurrence in which it holds.
    let mut refs: HashMap<(usize, Vec<Segment>), usize> = HashMap::new();
    let mut explained = 0;
    for (o, value) in occurrences.iter().zip(values) {
        let Some(value) = value.filter(|v| is_evidence(v)) else { continue };
        let mut found: Vec<(usize, Vec<Segment>)> = Vec::new();
        for (j, earlier) in o.iter().enumerate().take(k) {
            let mut path = Vec::new();
            let mut budget = 10_000;
            paths_to(&earlier.result, value, &mut path, &mut budget, &mut |p| found.push((j, p.to_vec())));
        }
        found.sort_by_cached_key(|(j, p)| (*j, path_text(p)));
        found.dedup();
        explained += usize::from(!found.is_empty());
        for f in found {
            *refs.entry(f).or_insert(0) += 1;
        }
    }
    // The most frequent; then the latest step, the shortest path, the first in text order.
    let best_ref = refs.into_iter().max_by(|(a, ca), (b, cb)| {
        ca.cmp(cb)
            .then(a.0.cmp(&b.0))
            .then(b.1.len().cmp(&a.1.len()))
            .then_with(|| path_text(&b.1).cmp(&path_text(&a.1)))
    });
    let mut literals: Vec<(&Value, usize)> = Vec::new();
    for value in values.iter().flatten() {
        match literals.iter_mut().find(|(v, _)| v == value) {
            Some((_, c)) => *c += 1,
            None => literals.push((value, 1)),
        }
    }
    let best_literal = literals.into_iter().rev().max_by_key(|&(_, c)| c);
    let ref_count = best_ref.as_ref().map_or(0, |(_, c)| *c);
    let literal_count = best_literal.map_or(0, |(_, c)| c);
    match (best_ref, best_literal) {
        (Some(((step, path), c)), _) if share(c) >= vote.min_share && c >= literal_count => {
            Binding { bound: Bound::Ref { step, path }, share: share(c) }
        }
        (_, Some((value, c))) if c >= 2 && share(c) >= vote.min_share && c > ref_count => {
            Binding { bound: Bound::Literal(value.clone()), share: share(c) }
        }
        _ => Binding { bound: Bound::Input(String::new()), share: share(n - explained) },
    }
}

/// Whether a value says anything when found in a result: not `null`, a boolean, an empty
/// string or container, or a small integer, which turn up everywhere.
fn is_evidence(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_i64().is_none_or(|i| !(-1..=9).contains(&i)),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Calls `found` with every path in `value` at which `target` is, looking at no more than
/// `budget` nodes.
fn paths_to(
    value: &Value,
    target: &Value,
    path: &mut Vec<Segment>,
    budget: &mut usize,
    found: &mut dyn FnMut(&[Segment]),
) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    if value == target {
        found(path);
        return;
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i64::try_from(i).unwrap_or(i64::MAX)));
                paths_to(item, target, path, budget, found);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(if is_identifier(key) {
                    Segment::Field(key.clone())
                } else {
                    Segment::Key(key.clone())
                });
                paths_to(item, target, path, budget, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `.field[0]["key"]`.
pub(crate) fn path_text(path: &[Segment]) -> String {
    let p =
        workflow_core::ast::Path { root: String::new(), segments: path.to_vec(), span: Default::default() };
    p.to_string()
}

/// Whether `text` is a name the DSL reads as a field (`orders`, `_id2`).
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(text, "true" | "false" | "null")
}

/// `text` as a Rust identifier: other characters become `_`, and a leading digit or a keyword
/// gets a `_` in front, a keyword one after.
pub(crate) fn identifier(text: &str) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
        "where", "while", "null", "retry", "timeout", "depends", "on_error", "backoff",
    ];
    KEYWORDS.contains(&word)
}

/// `name`, or `name_2`, `name_3`… if it is taken.
pub(crate) fn unique(name: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == name) {
        return name.to_owned();
    }
    (2..).map(|i| format!("{name}_{i}")).find(|n| !taken.contains(n)).unwrap_or_else(|| name.to_owned())
}

/// The levels of a chain of `len` steps: a step joins the level before it when `swappable` says
/// the chain also occurs with it and the step before it swapped, and it takes no data from that
/// level.
pub(crate) fn levels(steps: &[StepBindings], swappable: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let reads = |level: &[usize]| {
            step.iter().any(|(_, b)| matches!(&b.bound, Bound::Ref { step, .. } if level.contains(step)))
        };
        match levels.last_mut() {
            Some(level) if k > 0 && swappable(k) && !reads(level) => level.push(k),
            _ => levels.push(vec![k]),
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(tool: &str, parameters: Value, result: Value) -> Event {
        let Value::Object(parameters) = parameters else { unreachable!() };
        Event { session_id: "s".into(), seq: 0, tool_name: tool.into(), parameters, result, success: true }
    }

    fn occurrence(user: &str, order: &str, reason: &str) -> Vec<Event> {
        vec![
            event("find", json!({"name": user, "zip": "12345"}), json!(user)),
            event(
                "details",
                json!({"user_id": user}),
                json!({"orders": [{"order_id": order}], "name": user}),
            ),
            event("order", json!({"order_id": order, "reason": reason, "who": user}), json!({"ok": true})),
        ]
    }

    fn vote(occurrences: &[Vec<Event>]) -> (Vec<StepBindings>, Vec<String>) {
        let refs: Vec<Vec<&Event>> = occurrences.iter().map(|o| o.iter().collect()).collect();
        bindings(&refs, 3, Vote { min_share: 0.5 })
    }

    fn reference(step: usize, path: &[Segment]) -> Bound {
        Bound::Ref { step, path: path.to_vec() }
    }

    #[test]
    fn values_from_earlier_results_become_references_constants_literals_and_the_rest_inputs() {
        let occ = vec![
            occurrence("ann", "#W1", "late"),
            occurrence("bob", "#W2", "broken"),
            occurrence("cy", "#W3", "late"),
            occurrence("dee", "#W4", "wrong size"),
        ];
        let (steps, inputs) = vote(&occ);
        assert_eq!(steps[0][0], ("name".into(), Binding { bound: Bound::Input("name".into()), share: 1.0 }));
        assert_eq!(
            steps[0][1],
            ("zip".into(), Binding { bound: Bound::Literal(json!("12345")), share: 1.0 })
        );
        assert_eq!(steps[1][0], ("user_id".into(), Binding { bound: reference(0, &[]), share: 1.0 }));
        let order_id = reference(
            1,
            &[Segment::Field("orders".into()), Segment::Index(0), Segment::Field("order_id".into())],
        );
        assert_eq!(steps[2][0], ("order_id".into(), Binding { bound: order_id, share: 1.0 }));
        // Found in both earlier results: the latest wins.
        assert_eq!(
            steps[2][2],
            ("who".into(), Binding { bound: reference(1, &[Segment::Field("name".into())]), share: 1.0 })
        );
        // Half the time "late": a literal needs the majority over the input.
        assert_eq!(
            steps[2][1],
            ("reason".into(), Binding { bound: Bound::Literal(json!("late")), share: 0.5 })
        );
        assert_eq!(inputs, vec!["name"]);
    }

    #[test]
    fn a_reference_that_holds_in_too_few_occurrences_is_an_input_with_its_share() {
        let mut occ =
            vec![occurrence("ann", "#W1", "a"), occurrence("bob", "#W2", "b"), occurrence("cy", "#W3", "c")];
        for o in &mut occ[1..] {
            let other = json!(format!("x{}", o[0].result));
            o[1].parameters.insert("user_id".into(), other);
        }
        let (steps, _) = vote(&occ);
        assert_eq!(steps[1][0].1, Binding { bound: Bound::Input("user_id".into()), share: 2.0 / 3.0 });
    }

    #[test]
    fn arguments_that_always_get_the_same_value_share_one_input() {
        let occ: Vec<Vec<Event>> = ["p", "q", "r"]
            .iter()
            .map(|v| {
                vec![
                    event("a", json!({"repo": v, "x": 1}), json!(null)),
                    event("b", json!({"repository": v}), json!(null)),
                    event("c", json!({"repo": format!("{v}!")}), json!(null)),
                ]
            })
            .collect();
        let (steps, inputs) = vote(&occ);
        assert_eq!(inputs, vec!["repo", "repo_2"]);
        assert_eq!(steps[1][0].1.bound, Bound::Input("repo".into()));
        assert_eq!(steps[2][0].1.bound, Bound::Input("repo_2".into()));
        assert_eq!(steps[0][1].1.bound, Bound::Literal(json!(1)));
    }

    #[test]
    fn swapped_calls_without_data_flow_share_a_level() {
        let occ = vec![occurrence("ann", "#W1", "a"), occurrence("bob", "#W2", "b")];
        let (steps, _) = vote(&occ);
        // `details` reads `find`: even if swappable, it stays after it.
        assert_eq!(levels(&steps, |_| true), vec![vec![0], vec![1], vec![2]]);
        let free: Vec<StepBindings> = vec![Vec::new(); 4];
        assert_eq!(levels(&free, |k| k == 2), vec![vec![0], vec![1, 2], vec![3]]);
        assert_eq!(levels(&free, |k| k >= 2), vec![vec![0], vec![1, 2, 3]]);
    }

    #[test]
    fn identifiers_are_made_from_any_name() {
        assert_eq!(identifier("Weather.get-now"), "Weather_get_now");
        assert_eq!(identifier("3d"), "_3d");
        assert_eq!(identifier("type"), "type_");
        assert_eq!(unique("a", &["a".into(), "a_2".into()]), "a_3");
        assert_eq!(
            path_text(&[Segment::Field("a".into()), Segment::Index(0), Segment::Key("b c".into())]),
            ".a[0][\"b c\"]"
        );
    }
}
