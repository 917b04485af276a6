//! Pure computation on a checked workflow: what each step needs, the levels, which steps may be
//! skipped. Never fails: `validate` has ruled out unknown names and cycles.

use std::collections::BTreeSet;

use super::ast::{OnError, WorkflowDef};
use super::validate::step_edges;

/// The schedule of one workflow.
pub(crate) struct Plan {
    /// Step indices by level: every step of a level needs only steps of earlier levels.
    pub levels: Vec<Vec<usize>>,
    /// For each step, the steps it needs (by reference or `depends`), ascending.
    pub needs: Vec<Vec<usize>>,
    /// For each step, the steps whose outputs it references, ascending.
    pub reads: Vec<Vec<usize>>,
    /// For each step, whether it may not run (a condition, `on_error skip`, or a step it needs
    /// may not run): its output is then an `Option`.
    pub skippable: Vec<bool>,
}

pub(crate) fn plan(def: &WorkflowDef) -> Plan {
    let edges = step_edges(def);
    let needs: Vec<Vec<usize>> = edges.iter().map(|e| e.keys().copied().collect()).collect();
    let reads = def
        .steps
        .iter()
        .map(|step| {
            let refs: BTreeSet<String> =
                step.values().flat_map(|v| v.refs()).map(|r| r.root.to_string()).collect();
            def.steps
                .iter()
                .enumerate()
                .filter(|(_, s)| refs.contains(&s.id.to_string()))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    let order = topological_order(&needs);
    let mut level = vec![0usize; needs.len()];
    let mut skippable = vec![false; needs.len()];
    for &i in &order {
        level[i] = needs[i].iter().map(|&n| level[n] + 1).max().unwrap_or(0);
        let step = &def.steps[i];
        skippable[i] = step.condition.is_some()
            || matches!(step.on_error, Some(OnError::Skip))
            || needs[i].iter().any(|&n| skippable[n]);
    }
    let depth = level.iter().copied().max().map_or(0, |m| m + 1);
    let mut levels = vec![Vec::new(); depth];
    for (i, &l) in level.iter().enumerate() {
        levels[l].push(i);
    }
    Plan { levels, needs, reads, skippable }
}

/// Kahn's algorithm; steps with no order between them keep their written order.
fn topological_order(needs: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut users = vec![Vec::new(); needs.len()];
    for (i, ns) in needs.iter().enumerate() {
        for &n in ns {
            users[n].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..needs.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(needs.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.insert(u);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::parse::Workflows;

    fn plan_of(src: proc_macro2::TokenStream) -> Plan {
        let Workflows(defs) = syn::parse2(src).unwrap();
        plan(&defs[0])
    }

    #[test]
    fn diamond_has_four_levels() {
        let plan = plan_of(quote::quote! {
            diamond(x: u32) {
                a = t(v: <<x>>);
                b = t(v: <<a>>);
                c = t(v: <<a.n>>);
                d = t(v: <<b>> + <<c>>);
                e = t(v: 1) depends d;
            }
        });
        assert_eq!(plan.levels, vec![vec![0], vec![1, 2], vec![3], vec![4]]);
        assert_eq!(plan.needs[3], vec![1, 2]);
        assert_eq!(plan.reads[4], Vec::<usize>::new());
        assert_eq!(plan.skippable, vec![false; 5]);
    }

    #[test]
    fn skipping_propagates_to_dependents_only() {
        let plan = plan_of(quote::quote! {
            w() {
                a = t(v: 1);
                b = t(v: 2) if <<a.ok>>;
                c = t(v: <<b.n>>);
                d = t(v: <<a.n>>);
                e = t(v: 3) depends c;
            }
        });
        assert_eq!(plan.skippable, vec![false, true, true, false, true]);
    }
}
