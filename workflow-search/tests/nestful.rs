//! Tool search on real data: for each NESTFUL sample (`tests/data/traces/nestful.dag.jsonl`,
//! Apache-2.0, see its README), its instruction as the query, the share of its gold tools among
//! the five best of the 139 NESTFUL tools (recall@5), averaged over the 300 samples.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use workflow_search::{ToolDoc, ToolIndex};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/traces/");

fn lines(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{DATA}{file}")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The samples: instruction and gold tools.
fn samples() -> Vec<(String, BTreeSet<String>)> {
    lines("nestful.dag.jsonl")
        .iter()
        .map(|s| {
            let gold = s["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["tool_name"].as_str().unwrap().to_owned())
                .collect();
            (s["instruction"].as_str().unwrap().to_owned(), gold)
        })
        .collect()
}

/// Every tool the samples call: its specification (`nestful.tools.jsonl`), or for the 7 without
/// one, its name and the argument names the samples give it.
fn tools(with_descriptions: bool) -> Vec<ToolDoc> {
    let mut arguments: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sample in lines("nestful.dag.jsonl") {
        for node in sample["nodes"].as_array().unwrap() {
            let names = node["arguments"]
                .as_object()
                .map(|a| a.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            arguments.entry(node["tool_name"].as_str().unwrap().to_owned()).or_default().extend(names);
        }
    }
    let specs: BTreeMap<String, Value> = lines("nestful.tools.jsonl")
        .into_iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t))
        .collect();
    arguments
        .into_iter()
        .map(|(name, args)| match specs.get(&name) {
            Some(spec) => {
                let parameters: Vec<String> =
                    spec["parameters"].as_object().unwrap().keys().cloned().collect();
                let description =
                    if with_descriptions { spec["description"].as_str().unwrap_or_default() } else { "" };
                ToolDoc::new(name, description, parameters)
            }
            None => ToolDoc::new(name, "", args),
        })
        .collect()
}

fn recall_at_5(index: &ToolIndex) -> f64 {
    let samples = samples();
    let total: f64 = samples
        .iter()
        .map(|(instruction, gold)| {
            let found: BTreeSet<&str> = index.search(instruction, 5).iter().map(|h| h.name).collect();
            gold.iter().filter(|g| found.contains(g.as_str())).count() as f64 / gold.len() as f64
        })
        .sum();
    total / samples.len() as f64
}

#[test]
fn recall_at_5_on_nestful() {
    let tools = tools(true);
    assert_eq!(tools.len(), 139);
    assert_eq!(samples().len(), 300);
    let full = recall_at_5(&ToolIndex::new(tools));
    let names_only = recall_at_5(&ToolIndex::new(self::tools(false)));
    eprintln!(
        "NESTFUL recall@5: {full:.3} with descriptions, {names_only:.3} with names and parameters only"
    );
    assert!(full >= RECALL, "recall@5 fell to {full:.3}, below {RECALL}");
    assert!(full > names_only, "descriptions help: {full:.3} against {names_only:.3}");
}

/// The figure in the README and BENCHMARKS.md, less a margin for a new `bm25` release.
const RECALL: f64 = 0.78;
