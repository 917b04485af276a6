//! The meaning of a `workflow!`: every rule the macro checks before it generates code.
//!
//! All problems are collected and reported together. Rules that need types (unknown tool,
//! unknown or missing argument, argument type, unknown output field, condition not `bool`) are
//! left to rustc, with the generated code spanned so that its errors land on the DSL tokens.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::Span;
use syn::Ident;

use super::ast::{DurationLit, WorkflowDef};
use crate::errors::{Errors, did_you_mean};

/// Checks every workflow of one macro call.
pub(crate) fn check(defs: &[WorkflowDef]) -> syn::Result<()> {
    let mut errors = Errors::default();
    for def in defs {
        check_has_steps(def, &mut errors);
        check_duplicate_names(def, &mut errors);
        check_references(def, &mut errors);
        check_depends(def, &mut errors);
        check_cycles(def, &mut errors);
        check_policies(def, &mut errors);
    }
    errors.finish()
}

// A workflow has at least one step.
fn check_has_steps(def: &WorkflowDef, errors: &mut Errors) {
    if def.steps.is_empty() {
        errors.at(
            &def.name,
            format_args!("workflow `{}` has no steps; add `id = tool(arg: value);`", def.name),
        );
    }
}

// Step ids and input names are unique: a reference must name exactly one thing.
fn check_duplicate_names(def: &WorkflowDef, errors: &mut Errors) {
    let mut inputs = HashSet::new();
    for input in &def.inputs {
        if !inputs.insert(input.ident.to_string()) {
            errors.at(&input.ident, format_args!("duplicate input `{}`", input.ident));
        }
    }
    let mut steps = HashSet::new();
    for step in &def.steps {
        let id = step.id.to_string();
        if inputs.contains(&id) {
            errors.at(
                &step.id,
                format_args!("step `{id}` has the name of an input of `{}`; rename the step", def.name),
            );
        } else if !steps.insert(id.clone()) {
            errors.at(&step.id, format_args!("duplicate step id `{id}`; rename one of the steps"));
        }
    }
}

// Every `<<name…>>` names an input or another step of this workflow.
fn check_references(def: &WorkflowDef, errors: &mut Errors) {
    let names = names(def);
    for step in &def.steps {
        for r in step.values().flat_map(|v| v.refs()) {
            let root = r.root.to_string();
            if r.root == step.id && !def.inputs.iter().any(|i| i.ident == r.root) {
                errors.at(
                    &r.root,
                    format_args!(
                        "step `{root}` refers to its own output; a step can use inputs and other steps only"
                    ),
                );
            } else if !names.contains(&root) {
                let hint =
                    did_you_mean(&root, names.iter().map(String::as_str)).unwrap_or_else(|| known(def));
                errors.at(&r.root, format_args!("unknown step or input `{root}`{hint}"));
            }
        }
    }
}

// `depends` names other steps of this workflow.
fn check_depends(def: &WorkflowDef, errors: &mut Errors) {
    let steps: Vec<String> = def.steps.iter().map(|s| s.id.to_string()).collect();
    let inputs: Vec<String> = def.inputs.iter().map(|i| i.ident.to_string()).collect();
    for step in &def.steps {
        for dep in &step.depends {
            let name = dep.to_string();
            if *dep == step.id {
                errors.at(dep, format_args!("step `{name}` depends on itself; remove it from `depends`"));
            } else if inputs.contains(&name) {
                errors.at(dep, format_args!("`{name}` is an input, not a step; `depends` takes step ids"));
            } else if !steps.contains(&name) {
                let hint = did_you_mean(&name, steps.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("; the steps are {}", list(&steps)));
                errors.at(dep, format_args!("`depends` names unknown step `{name}`{hint}"));
            }
        }
    }
}

// The steps form a DAG: no step needs (by reference or `depends`) a step that needs it.
fn check_cycles(def: &WorkflowDef, errors: &mut Errors) {
    let edges = step_edges(def);
    let mut reported: HashSet<Vec<usize>> = HashSet::new();
    let mut state = vec![0u8; def.steps.len()]; // 0 new, 1 on stack, 2 done
    let mut stack = Vec::new();
    for start in 0..def.steps.len() {
        visit(start, &edges, &mut state, &mut stack, &mut |cycle: &[usize]| {
            let mut key = cycle.to_vec();
            key.sort_unstable();
            if !reported.insert(key) {
                return;
            }
            let names: Vec<String> = cycle.iter().map(|&i| format!("`{}`", def.steps[i].id)).collect();
            let first = cycle[0];
            let next = cycle.get(1).copied().unwrap_or(first);
            let at = edges[first].get(&next).map_or_else(|| def.steps[first].id.span(), |e| e.span());
            errors.at_span(
                at,
                format_args!(
                    "dependency cycle: {} -> {} (each step uses the next); remove one of these references",
                    names.join(" -> "),
                    names[0]
                ),
            );
        });
    }
}

fn visit(
    node: usize,
    edges: &[BTreeMap<usize, Ident>],
    state: &mut [u8],
    stack: &mut Vec<usize>,
    report: &mut dyn FnMut(&[usize]),
) {
    if state[node] != 0 {
        return;
    }
    state[node] = 1;
    stack.push(node);
    for &next in edges[node].keys() {
        match state[next] {
            0 => visit(next, edges, state, stack, report),
            1 => {
                if let Some(pos) = stack.iter().position(|&n| n == next) {
                    report(&stack[pos..]);
                }
            }
            _ => {}
        }
    }
    stack.pop();
    state[node] = 2;
}

/// For each step, the other steps it needs, with the token that names each one first.
pub(crate) fn step_edges(def: &WorkflowDef) -> Vec<BTreeMap<usize, Ident>> {
    let index: BTreeMap<String, usize> =
        def.steps.iter().enumerate().map(|(i, s)| (s.id.to_string(), i)).collect();
    def.steps
        .iter()
        .enumerate()
        .map(|(me, step)| {
            let mut edges = BTreeMap::new();
            let named = step.values().flat_map(|v| v.refs()).map(|r| &r.root).chain(&step.depends);
            for ident in named {
                if let Some(&i) = index.get(&ident.to_string()).filter(|&&i| i != me) {
                    edges.entry(i).or_insert_with(|| ident.clone());
                }
            }
            edges
        })
        .collect()
}

// Retry counts are small whole numbers; durations have a unit.
fn check_policies(def: &WorkflowDef, errors: &mut Errors) {
    for step in &def.steps {
        if let Some(retry) = &step.retry {
            if retry_count(&retry.count).is_none() {
                let found = quote::ToTokens::to_token_stream(&retry.count);
                errors.at(
                    &retry.count,
                    format_args!(
                        "expected a whole retry count from 0 to {MAX_RETRIES} such as `retry 3`, found `{found}`"
                    ),
                );
            }
            for d in retry.backoff.iter().chain(&retry.max) {
                duration(d, errors);
            }
            if let Some((factor, span)) = retry.multiplier.filter(|(f, _)| *f < 1.0) {
                errors.at_span(
                    span,
                    format_args!(
                        "a backoff factor below 1 shrinks delays; write `x1` or more, found `x{factor}`"
                    ),
                );
            }
        }
        if let Some(timeout) = &step.timeout {
            if duration(timeout, errors).is_some_and(|ms| ms == 0.0) {
                errors.at_span(
                    timeout.span(),
                    "a timeout of zero would fail every call; give a positive duration",
                );
            }
        }
    }
}

const MAX_RETRIES: u32 = 100;

/// The retry count, if it is a whole number in range.
pub(crate) fn retry_count(lit: &syn::Lit) -> Option<u32> {
    match lit {
        syn::Lit::Int(int) if int.suffix().is_empty() => {
            int.base10_parse::<u32>().ok().filter(|&n| n <= MAX_RETRIES)
        }
        _ => None,
    }
}

/// The duration in milliseconds, or an error on its literal.
pub(crate) fn duration(d: &DurationLit, errors: &mut Errors) -> Option<f64> {
    let (digits, suffix, text) = match d {
        DurationLit::Int(i) => (i.base10_digits().to_owned(), i.suffix().to_owned(), i.to_string()),
        DurationLit::Float(f) => (f.base10_digits().to_owned(), f.suffix().to_owned(), f.to_string()),
    };
    let unit_ms = match suffix.as_str() {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => {
            errors.at_span(
                d.span(),
                format_args!("expected a duration such as `30s`, `500ms` or `2m`, found `{text}`"),
            );
            return None;
        }
    };
    digits.parse::<f64>().ok().map(|v| v * unit_ms)
}

impl DurationLit {
    pub(crate) fn span(&self) -> Span {
        match self {
            DurationLit::Int(i) => i.span(),
            DurationLit::Float(f) => f.span(),
        }
    }
}

/// `; the inputs are …; the steps are …`, to follow an unknown name with no close match.
fn known(def: &WorkflowDef) -> String {
    let inputs: Vec<String> = def.inputs.iter().map(|i| i.ident.to_string()).collect();
    let steps: Vec<String> = def.steps.iter().map(|s| s.id.to_string()).collect();
    match (inputs.is_empty(), steps.is_empty()) {
        (true, _) => format!("; the steps are {}", list(&steps)),
        (false, true) => format!("; the inputs are {}", list(&inputs)),
        (false, false) => format!("; the inputs are {} and the steps are {}", list(&inputs), list(&steps)),
    }
}

/// `` `a`, `b`, `c` ``, each name once, shortened past eight names.
fn list(names: &[String]) -> String {
    let mut seen = HashSet::new();
    let unique: Vec<&String> = names.iter().filter(|n| seen.insert(n.as_str())).collect();
    let mut shown: Vec<String> = unique.iter().take(8).map(|n| format!("`{n}`")).collect();
    if unique.len() > 8 {
        shown.push(format!("and {} more", unique.len() - 8));
    }
    shown.join(", ")
}

/// Every name a reference may start with: inputs and steps.
fn names(def: &WorkflowDef) -> Vec<String> {
    def.inputs.iter().map(|i| i.ident.to_string()).chain(def.steps.iter().map(|s| s.id.to_string())).collect()
}
