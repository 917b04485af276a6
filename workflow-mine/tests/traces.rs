//! The miner on real agent traces (tau-bench, NESTFUL; see `tests/data/traces/README.md`),
//! checked against counts made here by a plain counter, and its data flow against the
//! links of `taubench.dag.jsonl`.

mod common;

use std::collections::{HashMap, HashSet};
use std::fs;

use serde_json::Value;
use workflow_mine::{Bound, LogSource, Mined, PatternDetector};

/// A call: its seq, tool and success.
type Call = (u64, String, bool);

/// Each session's calls, in `seq` order.
fn sessions(file: &str) -> Vec<(String, Vec<Call>)> {
    let mut by_id: Vec<(String, Vec<Call>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for line in fs::read_to_string(common::trace(file)).unwrap().lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let id = e["session_id"].as_str().unwrap().to_owned();
        let i = *index.entry(id.clone()).or_insert_with(|| {
            by_id.push((id, Vec::new()));
            by_id.len() - 1
        });
        let call = (
            e["seq"].as_u64().unwrap(),
            e["tool_name"].as_str().unwrap().to_owned(),
            e["success"].as_bool().unwrap(),
        );
        by_id[i].1.push(call);
    }
    for (_, calls) in &mut by_id {
        calls.sort();
    }
    by_id
}

/// Contiguous chains of 2 to `max` tools: the sessions they occur in, and those whose first
/// occurrence succeeded, then the closed ones ranked as the miner ranks them.
fn plain_count(file: &str, max: usize, min_support: usize) -> Vec<(Vec<String>, usize, usize)> {
    let mut counts: HashMap<Vec<String>, (usize, usize)> = HashMap::new();
    for (_, calls) in sessions(file) {
        let mut seen = HashSet::new();
        for n in 2..=max {
            for w in calls.windows(n) {
                let chain: Vec<String> = w.iter().map(|c| c.1.clone()).collect();
                if seen.insert(chain.clone()) {
                    let entry = counts.entry(chain).or_insert((0, 0));
                    entry.0 += 1;
                    entry.1 += usize::from(w.iter().all(|c| c.2));
                }
            }
        }
    }
    counts.retain(|_, c| c.0 >= min_support);
    let longer_same = |chain: &Vec<String>, support: usize| {
        counts.iter().any(|(other, c)| {
            c.0 == support
                && other.len() == chain.len() + 1
                && (other[1..] == chain[..] || other[..chain.len()] == chain[..])
        })
    };
    let mut closed: Vec<(Vec<String>, usize, usize)> =
        counts.iter().filter(|(k, c)| !longer_same(k, c.0)).map(|(k, c)| (k.clone(), c.0, c.1)).collect();
    closed.sort_by(|a, b| {
        b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(b.0.len().cmp(&a.0.len())).then(a.0.cmp(&b.0))
    });
    closed
}

fn mine(file: &str, detector: PatternDetector) -> Mined {
    detector.mine(&[LogSource::path(common::trace(file))]).unwrap()
}

fn summary(mined: &Mined) -> Vec<(Vec<String>, usize, usize)> {
    mined.patterns.iter().map(|p| (p.tools.clone(), p.support as usize, p.successes as usize)).collect()
}

#[test]
fn taubench_top_chains_are_those_a_plain_counter_finds() {
    let mined = mine("taubench.jsonl", PatternDetector::new().max_len(4).top(Some(15)));
    assert_eq!((mined.stats.lines, mined.stats.events, mined.stats.sessions), (2618, 2618, 346));
    assert_eq!((mined.stats.skipped, mined.stats.duplicates), (0, 0));
    let expected = plain_count("taubench.jsonl", 4, 2);
    // Orders of one parallel level are merged into the first, so compare as sets of the top.
    let got = summary(&mined);
    for pattern in &got {
        assert!(expected.contains(pattern), "{pattern:?} not counted so");
    }
    assert_eq!(got[..5], expected[..5]);
    let chain =
        ["find_user_id_by_name_zip", "get_user_details", "get_order_details"].map(String::from).to_vec();
    let found = got.iter().find(|p| p.0 == chain).expect("the retail lookup chain");
    assert_eq!(found.1, 74);
}

#[test]
fn taubench_retail_lookup_binds_the_user_id_from_the_first_call() {
    let mined = mine("taubench.jsonl", PatternDetector::new().max_len(3).top(Some(30)));
    let p = mined
        .patterns
        .iter()
        .find(|p| p.tools == ["find_user_id_by_name_zip", "get_user_details", "get_order_details"])
        .unwrap();
    let user = p.binding("get_user_details", "user_id").unwrap();
    assert_eq!(user.bound, Bound::Ref { step: 0, path: vec![] });
    assert!(user.share > 0.9, "{user:?}");
    let order = p.binding("get_order_details", "order_id").unwrap();
    assert!(matches!(&order.bound, Bound::Ref { step: 1, .. }), "{order:?}");
    assert!(p.inputs.contains(&"first_name".to_owned()), "{:?}", p.inputs);
    let dsl = p.dsl().unwrap();
    assert!(
        dsl.contains("get_user_details = get_user_details(user_id: <<find_user_id_by_name_zip>>);"),
        "{dsl}"
    );
    let template = p.template();
    assert_eq!(template.steps[1].parameters["user_id"], "{{find_user_id_by_name_zip}}");
    assert_eq!(workflow_runtime::WorkflowTemplate::from_dsl(&dsl).unwrap()[0].steps.len(), 3);
}

#[test]
fn nestful_top_chains_are_those_a_plain_counter_finds() {
    let mined = mine("nestful.jsonl", PatternDetector::new().max_len(4).top(Some(10)));
    assert_eq!((mined.stats.events, mined.stats.sessions), (800, 300));
    let expected = plain_count("nestful.jsonl", 4, 2);
    let got = summary(&mined);
    assert!(!got.is_empty());
    for pattern in &got {
        assert!(expected.contains(pattern), "{pattern:?} not counted so");
    }
    assert_eq!(got[0], expected[0]);
}

/// Links i → j (by `seq`) of each session in the DAG file.
fn dag_links(file: &str) -> HashMap<String, HashSet<(u64, u64)>> {
    let mut out = HashMap::new();
    for line in fs::read_to_string(common::trace(file)).unwrap().lines() {
        let g: Value = serde_json::from_str(line).unwrap();
        let links = g["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["source"].as_u64().unwrap(), l["target"].as_u64().unwrap()))
            .collect();
        out.insert(g["task_id"].as_str().unwrap().to_owned(), links);
    }
    out
}

/// Precision and recall of the references of the top patterns, over their occurrences: a
/// reference of step k to step j is a predicted link between their calls; the truth is the DAG's
/// links between calls of the same occurrence.
#[test]
fn taubench_data_flow_against_the_dag_links() {
    let mined = mine("taubench.jsonl", PatternDetector::new().max_len(4).top(Some(20)).max_occurrences(1000));
    let dag = dag_links("taubench.dag.jsonl");
    let (mut predicted, mut correct, mut truth) = (0, 0, 0);
    for p in &mined.patterns {
        let refs: HashSet<(usize, usize)> = p
            .steps
            .iter()
            .enumerate()
            .flat_map(|(k, s)| {
                s.args.iter().filter_map(move |(_, b)| match b.bound {
                    Bound::Ref { step, .. } => Some((step, k)),
                    _ => None,
                })
            })
            .collect();
        for o in &p.occurrences {
            let links = &dag[&o.session];
            for &(j, k) in &refs {
                predicted += 1;
                correct += usize::from(links.contains(&(o.seqs[j], o.seqs[k])));
            }
            for j in 0..o.seqs.len() {
                for k in j + 1..o.seqs.len() {
                    truth += usize::from(links.contains(&(o.seqs[j], o.seqs[k])));
                }
            }
        }
    }
    let precision = correct as f64 / predicted as f64;
    let recall = correct as f64 / truth as f64;
    println!(
        "predicted {predicted}, correct {correct}, in the DAG {truth}: precision {precision:.3}, recall {recall:.3}"
    );
    // 1,417 links predicted over the occurrences of the top 20 patterns, 1,264 of them in the
    // DAG, which has 1,348 links between calls of those occurrences: precision 0.892, recall
    // 0.938. The misses are mostly links through nested arguments (`payment_methods[0].…`),
    // which are voted as a whole here.
    assert_eq!((predicted, correct, truth), (1417, 1264, 1348));
    assert_eq!((format!("{precision:.3}"), format!("{recall:.3}")), ("0.892".to_owned(), "0.938".to_owned()));
}
