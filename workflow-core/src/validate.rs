//! The rule book: what makes a workflow well formed, for `workflow!` and run-time workflows
//! alike. Each rule is one `check_*`, headed by the rule it enforces; [`check`] runs them in
//! order and reports every problem with its caller's span type.
//!
//! Rules that need types or a tool catalogue (unknown tool or argument, argument types, output
//! fields) are checked by rustc for `workflow!` and by the runtime's validator for run-time
//! workflows.

use std::collections::HashSet;

use crate::ast::{Expr, FilterKind, Literal};
use crate::graph::{Graph, edges};
use crate::model::{Condition, Names, OnError, RefSite, Spanned, Trigger, Workflow};
use crate::policy::{MAX_DURATION_MS, MAX_RETRIES, StepPolicy, duration_text};
use crate::suggest::{did_you_mean, list};

/// Something wrong with a workflow, where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem<S> {
    /// Where to point.
    pub span: S,
    /// What is wrong and what would be right.
    pub message: String,
}

/// A workflow that passed every rule, with what running it needs: its graph and each step's
/// policy. Code generation and execution consume it and cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<S> {
    /// The workflow.
    pub workflow: Workflow<S>,
    /// Its graph.
    pub graph: Graph,
    /// Each step's retry policy, timeout and `on_error`, defaults filled in.
    pub policies: Vec<StepPolicy>,
    /// The names the workflow reads that are neither steps nor declared inputs (only when it
    /// declares no inputs): they must be supplied when it runs.
    pub implicit_inputs: Vec<String>,
}

/// Checks `workflow` against every rule, reporting all problems at once.
pub fn check<S: Clone>(workflow: Workflow<S>) -> Result<Checked<S>, Vec<Problem<S>>> {
    check_with(workflow, |_, _, _| {})
}

/// [`check`], and the caller's own rules (a runtime's catalogue of tools, say) over the same
/// name index; their problems are reported after those of the shared rules.
pub fn check_with<S: Clone>(
    workflow: Workflow<S>,
    rules: impl FnOnce(&Workflow<S>, &Names<'_>, &mut Vec<Problem<S>>),
) -> Result<Checked<S>, Vec<Problem<S>>> {
    let mut problems = Problems(Vec::new());
    let names = workflow.names();
    check_has_steps(&workflow, &mut problems);
    check_names(&workflow, &names, &mut problems);
    check_references(&workflow, &names, &mut problems);
    check_depends(&workflow, &names, &mut problems);
    check_after(&workflow, &names, &mut problems);
    check_fallbacks(&workflow, &mut problems);
    check_compensations(&workflow, &names, &mut problems);
    check_for_each(&workflow, &names, &mut problems);
    check_status_tests(&workflow, &names, &mut problems);
    check_conditions(&workflow, &mut problems);
    check_retries(&workflow, &mut problems);
    check_timeouts(&workflow, &mut problems);
    let graph = check_cycles(&workflow, &names, &mut problems);
    let implicit_inputs = implicit_inputs(&workflow, &names);
    rules(&workflow, &names, &mut problems.0);
    drop(names);
    match graph {
        Some(graph) if problems.0.is_empty() => Ok(Checked {
            policies: workflow.steps.iter().map(StepPolicy::of).collect(),
            implicit_inputs,
            graph,
            workflow,
        }),
        _ => Err(problems.0),
    }
}

struct Problems<S>(Vec<Problem<S>>);

impl<S: Clone> Problems<S> {
    fn at(&mut self, span: &S, message: impl Into<String>) {
        self.0.push(Problem { span: span.clone(), message: message.into() });
    }
}

// A workflow has at least one step.
fn check_has_steps<S: Clone>(workflow: &Workflow<S>, problems: &mut Problems<S>) {
    if workflow.steps.is_empty() {
        let name = &workflow.name;
        problems
            .at(&name.span, format!("workflow `{}` has no steps; add `id = tool(arg: value);`", name.value));
    }
}

// Inputs and step ids are unique, and no step has an input's name: steps and inputs are separate
// namespaces, and a reference must name exactly one thing.
fn check_names<S: Clone>(workflow: &Workflow<S>, names: &Names<'_>, problems: &mut Problems<S>) {
    let mut inputs = HashSet::new();
    for input in workflow.inputs.iter().flatten() {
        if !inputs.insert(input.name.value.as_str()) {
            problems.at(&input.name.span, format!("duplicate input `{}`", input.name.value));
        }
    }
    for (i, step) in workflow.steps.iter().enumerate() {
        let id = step.id.value.as_str();
        if names.is_input(id) {
            let message =
                format!("step `{id}` has the name of an input of `{}`; rename the step", workflow.name.value);
            problems.at(&step.id.span, message);
        } else if names.step(id) != Some(i) {
            // `names` keeps the first step of each id: this one repeats it.
            problems.at(&step.id.span, format!("duplicate step id `{id}`; rename one of the steps"));
        }
    }
}

// Every reference names a declared input or another step. When the workflow declares no inputs,
// a name that is not a step is an input, unless it is a step's name misspelt.
fn check_references<S: Clone>(workflow: &Workflow<S>, known_names: &Names<'_>, problems: &mut Problems<S>) {
    let names = || every_name(workflow);
    let loop_of = |name: &str| workflow.steps.iter().find(|s| s.item() == Some(name));
    for step in &workflow.steps {
        for (site, r) in step.refs() {
            let root = r.path.root.as_str();
            if step.item() == Some(root) {
                if !matches!(site, RefSite::Arg(_)) {
                    problems.at(
                        &r.span,
                        format!(
                            "`{root}` is the loop variable of `{}`, valid only in its arguments: the condition, the list and a fallback are read once for the whole step",
                            step.id.value
                        ),
                    );
                }
                continue;
            }
            if let Some(owner) =
                loop_of(root).filter(|_| known_names.step(root).is_none() && !known_names.is_input(root))
            {
                problems.at(
                    &r.span,
                    format!(
                        "`{root}` is the loop variable of step `{}` (`for {root} in …`), valid only in that step's arguments",
                        owner.id.value
                    ),
                );
                continue;
            }
            // (A step named like an input is reported once, by `check_names`.)
            if root == step.id.value && !known_names.is_input(root) {
                problems.at(
                    &r.span,
                    format!(
                        "step `{root}` refers to its own output; a step can use inputs and other steps only"
                    ),
                );
            } else if known_names.step(root).is_some() || known_names.is_input(root) {
                continue;
            } else if workflow.inputs.is_some() {
                let hint = did_you_mean(root, names()).unwrap_or_else(|| known(workflow));
                problems.at(&r.span, format!("unknown step or input `{root}`{hint}"));
            } else if let Some(hint) = did_you_mean(root, workflow.steps.iter().map(|s| s.id.value.as_str()))
            {
                // Without declared inputs, a name that is not a step is an input; one that is a
                // step's name misspelt is far more likely a mistake.
                problems.at(
                    &r.span,
                    format!("unknown step `{root}`{hint} (if it is an input, declare the workflow's inputs)"),
                );
            }
        }
    }
}

// `depends` names other steps of the workflow.
fn check_depends<S: Clone>(workflow: &Workflow<S>, known: &Names<'_>, problems: &mut Problems<S>) {
    let steps = || workflow.steps.iter().map(|s| s.id.value.as_str());
    for step in &workflow.steps {
        for dep in &step.depends {
            let name = dep.value.as_str();
            if name == step.id.value {
                problems.at(&dep.span, format!("step `{name}` depends on itself; remove it from `depends`"));
            } else if known.is_input(name) {
                problems.at(&dep.span, format!("`{name}` is an input, not a step; `depends` takes step ids"));
            } else if known.step(name).is_none() {
                let hint = did_you_mean(name, steps())
                    .unwrap_or_else(|| format!("; the steps are {}", list(steps())));
                problems.at(&dep.span, format!("`depends` names unknown step `{name}`{hint}"));
            }
        }
    }
}

// `after X failed | always` names another step, and the step does not read the output of `X`,
// which it may not have: after `X` failed there is none, and `always` runs however `X` ended.
fn check_after<S: Clone>(workflow: &Workflow<S>, known: &Names<'_>, problems: &mut Problems<S>) {
    let steps = || workflow.steps.iter().map(|s| s.id.value.as_str());
    for step in &workflow.steps {
        let Some(after) = &step.after else { continue };
        let (name, when) = (after.step.value.as_str(), after.when.value);
        if name == step.id.value {
            problems.at(&after.step.span, format!("step `{name}` runs after itself; name another step"));
            continue;
        } else if known.is_input(name) {
            problems
                .at(&after.step.span, format!("`{name}` is an input, not a step; `after` takes a step id"));
            continue;
        } else if known.step(name).is_none() {
            let hint =
                did_you_mean(name, steps()).unwrap_or_else(|| format!("; the steps are {}", list(steps())));
            problems.at(&after.step.span, format!("`after` names unknown step `{name}`{hint}"));
            continue;
        }
        let why = match when {
            Trigger::Failed => format!("it runs only after `{name}` failed, when `{name}` has no output"),
            Trigger::Always => format!("it runs however `{name}` ended, when `{name}` may have no output"),
        };
        for (_, r) in step.refs().filter(|(_, r)| r.path.root == name && r.path.status_test().is_none()) {
            problems.at(
                &r.span,
                format!(
                    "step `{}` cannot read `{}`: {why}; read another step, or wait for it with `depends {name}`",
                    step.id.value, r.path
                ),
            );
        }
    }
}

// A step has a fallback call exactly when its `on_error` is `fallback` (`on_error fallback
// tool(…)`).
fn check_fallbacks<S: Clone>(workflow: &Workflow<S>, problems: &mut Problems<S>) {
    for step in &workflow.steps {
        let on_error = step.on_error.as_ref();
        match (on_error.map(|o| (o.value, &o.span)), &step.fallback) {
            (Some((OnError::Fallback, span)), None) => problems.at(
                span,
                format!("step `{}` has `on_error fallback` but no fallback call; give the call to make instead", step.id.value),
            ),
            (Some((action @ (OnError::Skip | OnError::Abort), span)), Some(_)) => problems.at(
                span,
                format!(
                    "step `{}` has a fallback call but `on_error {}`; set `on_error` to `fallback` or remove the call",
                    step.id.value,
                    action.as_str()
                ),
            ),
            (None, Some(fallback)) => problems.at(
                &fallback.tool.span,
                format!("step `{}` has a fallback call but no `on_error fallback`; set `on_error` to `fallback`", step.id.value),
            ),
            _ => {}
        }
    }
}

// `<<step.$failed>>` tests how a step ended: it stands alone after a step's id, names one of
// `$succeeded`, `$failed`, `$skipped`, `$cancelled`, and is written in a condition.
fn check_status_tests<S: Clone>(workflow: &Workflow<S>, index: &Names<'_>, problems: &mut Problems<S>) {
    use crate::ast::STATUS_TESTS;
    for step in &workflow.steps {
        for (site, r) in step.refs().chain(step.compensation_refs()) {
            if !r.path.has_status_segment() {
                continue;
            }
            let root = r.path.root.as_str();
            let Some(status) = r.path.status_test() else {
                problems.at(
                    &r.span,
                    format!("a `$` name tests how a step ended and stands alone after the step's id, as in `<<{root}.$failed>>`"),
                );
                continue;
            };
            if index.is_input(root) {
                problems.at(&r.span, format!("`{root}` is an input; `${status}` tests how a step ended"));
            } else if !STATUS_TESTS.contains(&status) {
                let tests: Vec<String> = STATUS_TESTS.iter().map(|t| format!("${t}")).collect();
                let message = match did_you_mean(&format!("${status}"), tests.iter().map(String::as_str)) {
                    Some(hint) => format!("unknown status `${status}`{hint}"),
                    None => format!(
                        "unknown status `${status}`; a step ends `$succeeded`, `$failed` (`$timed_out` when a time limit cut it), `$skipped` or `$cancelled`"
                    ),
                };
                problems.at(&r.span, message);
            } else if site != RefSite::Condition {
                problems.at(
                    &r.span,
                    format!("`{root}.${status}` tests how `{root}` ended and belongs in a condition: `if <<{root}.${status}>>`"),
                );
            }
        }
    }
}

// `for item in <<list>>`: the loop variable is a new name (no step's, no input's), `max` lets at
// least one call run, and a fan-out has no fallback (its calls fail one by one, within
// `tolerate`).
fn check_for_each<S: Clone>(workflow: &Workflow<S>, index: &Names<'_>, problems: &mut Problems<S>) {
    for step in &workflow.steps {
        let Some(f) = &step.for_each else { continue };
        let item = f.item.value.as_str();
        if index.step(item).is_some() {
            problems
                .at(&f.item.span, format!("the loop variable `{item}` has the name of a step; rename it"));
        } else if index.is_input(item) {
            problems
                .at(&f.item.span, format!("the loop variable `{item}` has the name of an input; rename it"));
        }
        if let Some(max) = f.max.as_ref().filter(|m| m.value == 0) {
            problems.at(
                &max.span,
                format!("`max 0` would never call `{}`; give at least 1 call at once, or leave `max` out for no limit", step.tool.value),
            );
        }
        if let Some(fallback) = &step.fallback {
            problems.at(
                &fallback.tool.span,
                format!("step `{}` calls its tool for each `{item}` and cannot have a fallback; use `tolerate K` to let some calls fail", step.id.value),
            );
        }
    }
}

// A compensation runs after its step succeeded, when the run fails later: it reads the step's own
// output, the inputs, and the steps the step itself read or depended on, which had all succeeded
// before it ran. Any other step may not have run.
fn check_compensations<S: Clone>(workflow: &Workflow<S>, index: &Names<'_>, problems: &mut Problems<S>) {
    for step in &workflow.steps {
        let own = step.id.value.as_str();
        let read: HashSet<&str> = step
            .refs()
            .map(|(_, r)| r.path.root.as_str())
            .chain(step.depends.iter().map(|d| d.value.as_str()))
            .collect();
        for (_, r) in step.compensation_refs() {
            let root = r.path.root.as_str();
            if step.item() == Some(root) {
                problems.at(
                    &r.span,
                    format!("the compensation of `{own}` runs once for the whole step and cannot read the loop variable `{root}`; read `{own}`'s output, a list of every call's output"),
                );
                continue;
            }
            if root == own || index.is_input(root) || read.contains(root) {
                continue;
            }
            if index.step(root).is_some() {
                problems.at(
                    &r.span,
                    format!(
                        "the compensation of `{own}` cannot read `{root}`, which may not have run; it can read `{own}`'s own output, the inputs, and the steps `{own}` reads"
                    ),
                );
            } else {
                let hint = did_you_mean(root, every_name(workflow)).unwrap_or_else(|| known(workflow));
                problems.at(&r.span, format!("unknown step or input `{root}`{hint}"));
            }
        }
    }
}

// A condition in the expression language is a boolean: a comparison, `!`, `&&`, `||`, `true`,
// `false` or a value read from a step or input (checked when it is read). A literal or a filter
// that gives text, a number or a list is never a condition; there is no truthiness.
fn check_conditions<S: Clone>(workflow: &Workflow<S>, problems: &mut Problems<S>) {
    for step in &workflow.steps {
        let Some(Condition { expr: Some(expr), span, .. }) = &step.condition else { continue };
        if let Some(kind) = non_boolean(expr) {
            problems.at(
                span,
                format!("a condition must be a boolean, found {kind}; compare it, e.g. `{expr} > 0`"),
            );
        }
    }
}

/// What an expression gives when that is known not to be a boolean.
fn non_boolean(expr: &Expr) -> Option<&'static str> {
    match expr {
        Expr::Literal(Literal::Str(_), _) => Some("a string"),
        Expr::Literal(Literal::Number(_), _) | Expr::Neg(_) => Some("a number"),
        Expr::Literal(Literal::Null, _) => Some("`null`"),
        Expr::Filter(_, f) => match f.kind {
            FilterKind::Length => Some("a number (`length`)"),
            FilterKind::Upper | FilterKind::Lower | FilterKind::Json | FilterKind::Join => Some("a string"),
            FilterKind::Default => None,
        },
        Expr::Ternary(_, a, b) => non_boolean(a).and(non_boolean(b)),
        Expr::Binary(..) | Expr::Not(_) | Expr::Literal(Literal::Bool(_), _) | Expr::Path(_) => None,
    }
}

// Retry counts are small whole numbers; backoffs are durations from zero, factors at least 1,
// and a cap is a positive duration no shorter than the backoff it caps.
fn check_retries<S: Clone>(workflow: &Workflow<S>, problems: &mut Problems<S>) {
    for retry in workflow.steps.iter().filter_map(|s| s.retry.as_ref()) {
        let count = &retry.count;
        if count.value > MAX_RETRIES {
            problems.at(
                &count.span,
                format!(
                    "expected a whole retry count from 0 to {MAX_RETRIES} such as `retry 3`, found `{}`",
                    count.value
                ),
            );
        }
        if let Some(backoff) = &retry.backoff {
            check_duration(backoff, "a backoff", true, problems);
        }
        if let Some(m) = retry.multiplier.as_ref().filter(|m| !(m.value >= 1.0 && m.value.is_finite())) {
            problems.at(
                &m.span,
                format!("a backoff factor below 1 shrinks delays; write `x1` or more, found `x{}`", m.value),
            );
        }
        if let Some(max) = &retry.max {
            if check_duration(max, "a `max` delay", false, problems) {
                if let Some(b) = retry.backoff.as_ref().filter(|b| b.value > max.value) {
                    problems.at(
                        &max.span,
                        format!(
                            "`max {}` is shorter than `backoff {}`, so every delay would be the cap; raise `max` or lower `backoff`",
                            duration_text(max.value),
                            duration_text(b.value)
                        ),
                    );
                }
            }
        }
    }
}

// A timeout and a deadline are positive durations, and a deadline (which bounds every attempt
// of the step and the waits between them) is not shorter than the timeout of one attempt.
fn check_timeouts<S: Clone>(workflow: &Workflow<S>, problems: &mut Problems<S>) {
    for step in &workflow.steps {
        let mut valid = |limit: &Spanned<f64, S>, what: &str| {
            if limit.value == 0.0 {
                problems.at(
                    &limit.span,
                    format!("{what} of zero would fail every call; give a positive duration"),
                );
                false
            } else {
                check_duration(limit, what, false, problems)
            }
        };
        let timeout = step.timeout.as_ref().filter(|t| valid(t, "a timeout"));
        let deadline = step.deadline.as_ref().filter(|d| valid(d, "a deadline"));
        let shorter = match (timeout, deadline) {
            (Some(timeout), Some(deadline)) if deadline.value < timeout.value => Some((timeout, deadline)),
            _ => None,
        };
        if let Some((timeout, deadline)) = shorter {
            problems.at(
                &deadline.span,
                format!(
                    "the deadline of {} is shorter than the timeout of {} it bounds; a deadline limits all the attempts of the step together, so make it at least the timeout",
                    crate::policy::duration_text(deadline.value),
                    crate::policy::duration_text(timeout.value)
                ),
            );
        }
    }
}

/// Whether a duration (in milliseconds) is finite, in range and positive (or zero, if allowed).
fn check_duration<S: Clone>(
    d: &Spanned<f64, S>,
    what: &str,
    zero_ok: bool,
    problems: &mut Problems<S>,
) -> bool {
    let ok =
        d.value.is_finite() && d.value <= MAX_DURATION_MS && (d.value > 0.0 || (zero_ok && d.value == 0.0));
    if !ok {
        let least = if zero_ok { "zero or more" } else { "positive" };
        problems.at(
            &d.span,
            format!(
                "{what} must be a {least} duration of at most {MAX_DURATION_MS} ms, found {} ms",
                d.value
            ),
        );
    }
    ok
}

// The steps form a DAG: no step needs (by reference or `depends`) a step that needs it.
fn check_cycles<S: Clone>(
    workflow: &Workflow<S>,
    names: &Names<'_>,
    problems: &mut Problems<S>,
) -> Option<Graph> {
    match Graph::of_named(workflow, names) {
        Ok(graph) => Some(graph),
        Err(cycles) => {
            let edges = edges(workflow);
            for cycle in cycles {
                let names: Vec<String> =
                    cycle.iter().map(|&i| format!("`{}`", workflow.steps[i].id.value)).collect();
                let (first, next) = (cycle[0], cycle.get(1).copied().unwrap_or(cycle[0]));
                let at = edges[first].get(&next).copied().unwrap_or(&workflow.steps[first].id.span);
                problems.at(
                    at,
                    format!(
                        "dependency cycle: {} -> {} (each step uses the next); remove one of these references",
                        names.join(" -> "),
                        names[0]
                    ),
                );
            }
            None
        }
    }
}

/// The declared inputs' names, then the step ids: what a reference may name.
fn every_name<S>(workflow: &Workflow<S>) -> impl Iterator<Item = &str> {
    let inputs = workflow.inputs.iter().flatten().map(|i| i.name.value.as_str());
    inputs.chain(workflow.steps.iter().map(|s| s.id.value.as_str()))
}

/// `; the inputs are …; the steps are …`, to follow an unknown name with no close match.
fn known<S>(workflow: &Workflow<S>) -> String {
    let inputs: Vec<&str> = workflow.inputs.iter().flatten().map(|i| i.name.value.as_str()).collect();
    let steps = list(workflow.steps.iter().map(|s| s.id.value.as_str()));
    match (inputs.is_empty(), workflow.steps.is_empty()) {
        (true, _) => format!("; the steps are {steps}"),
        (false, true) => format!("; the inputs are {}", list(inputs)),
        (false, false) => format!("; the inputs are {} and the steps are {steps}", list(inputs)),
    }
}

/// The roots that are neither steps nor declared inputs, when the workflow declares none.
pub(crate) fn implicit_inputs<S>(workflow: &Workflow<S>, names: &Names<'_>) -> Vec<String> {
    if workflow.inputs.is_some() {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let refs = workflow
        .steps
        .iter()
        .flat_map(|s| s.refs().map(|(_, r)| r.path.root.as_str()).filter(move |root| s.item() != Some(root)));
    refs.filter(|root| names.step(root).is_none() && seen.insert(*root)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests;
