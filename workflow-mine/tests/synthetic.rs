//! The miner on a synthetic log whose chains, counts, failures and data flow are known.

mod common;

use common::synth::{self, FREQUENT, PARALLEL, RELIABLE, Truth};
use serde_json::json;
use workflow_core::ast::Segment;
use workflow_mine::{Binding, Bound, LogSource, MinSupport, Mined, PatternDetector};

fn log() -> (LogSource, Truth) {
    let mut data = Vec::new();
    let truth = synth::generate(7, 400, &mut data).unwrap();
    (LogSource::bytes("synth.jsonl", data), truth)
}

fn mine(detector: PatternDetector) -> (Mined, Truth) {
    let (source, truth) = log();
    (detector.mine(&[source]).unwrap(), truth)
}

fn tools(chain: &[&str]) -> Vec<String> {
    chain.iter().map(|t| t.to_string()).collect()
}

fn field(name: &str) -> Segment {
    Segment::Field(name.into())
}

fn reference(step: usize, path: &[Segment]) -> Bound {
    Bound::Ref { step, path: path.to_vec() }
}

#[test]
fn the_planted_chains_are_found_with_their_exact_counts_in_score_order() {
    let (mined, truth) = mine(PatternDetector::new().min_support(MinSupport::Sessions(20)));
    assert_eq!((mined.stats.sessions, mined.stats.events), (truth.sessions, truth.events));
    assert_eq!((mined.stats.skipped, mined.stats.duplicates), (0, 0));
    let found: Vec<(Vec<String>, u64, u64)> =
        mined.patterns.iter().map(|p| (p.tools.clone(), p.support, p.successes)).collect();
    // The reliable chain ranks above the more frequent one that often fails; the parallel
    // chain is one pattern, in its more frequent order.
    let (notify_first, tag_first) = truth.parallel;
    let parallel = if notify_first >= tag_first {
        tools(&PARALLEL)
    } else {
        tools(&[PARALLEL[0], PARALLEL[2], PARALLEL[1], PARALLEL[3]])
    };
    let mut expected = vec![
        (tools(&RELIABLE), truth.reliable, truth.reliable),
        (tools(&FREQUENT), truth.frequent.0, truth.frequent.1),
        (parallel, notify_first.max(tag_first), notify_first.max(tag_first)),
    ];
    // Score (successes), then support.
    expected.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
    assert_eq!(found, expected);
    assert_eq!(found[0].0, tools(&RELIABLE));
    assert!(truth.frequent.0 > truth.reliable && truth.frequent.1 < truth.reliable, "{truth:?}");
    let frequent = mined.patterns.iter().find(|p| p.tools == tools(&FREQUENT)).unwrap();
    assert_eq!(frequent.success_rate, truth.frequent.1 as f64 / truth.frequent.0 as f64);
    assert_eq!(frequent.score, truth.frequent.1 as f64);
}

#[test]
fn bindings_are_references_literals_and_shared_inputs() {
    let (mined, _) = mine(PatternDetector::new().min_support(MinSupport::Sessions(20)));
    let index = |chain: &[&str]| mined.patterns.iter().position(|p| p.tools == tools(chain)).unwrap();
    let binding = |p: usize, step: &str, arg: &str| mined.patterns[p].binding(step, arg).cloned().unwrap();
    let all = |bound| Binding { bound, share: 1.0 };
    let reliable = index(&RELIABLE);
    assert_eq!(binding(reliable, "fetch_repo", "repo"), all(Bound::Input("repo".into())));
    assert_eq!(binding(reliable, "run_tests", "repo"), all(Bound::Input("repo".into())));
    assert_eq!(binding(reliable, "run_tests", "commit"), all(reference(0, &[field("head"), field("sha")])));
    assert_eq!(binding(reliable, "publish", "version"), all(reference(1, &[field("version")])));
    assert_eq!(binding(reliable, "publish", "channel"), all(Bound::Literal(json!("stable"))));
    assert_eq!(mined.patterns[reliable].inputs, vec!["repo"]);
    let frequent = index(&FREQUENT);
    let user = [field("users"), Segment::Index(0), field("id")];
    assert_eq!(binding(frequent, "get_profile", "user_id"), all(reference(0, &user)));
    // In both earlier results: the latest call wins.
    assert_eq!(binding(frequent, "list_orders", "user_id"), all(reference(1, &[field("user_id")])));
    let order = [field("orders"), Segment::Index(0), field("order_id")];
    assert_eq!(binding(frequent, "cancel_order", "order_id"), all(reference(2, &order)));
    assert_eq!(binding(frequent, "search_users", "limit"), all(Bound::Literal(json!(5))));
    assert_eq!(mined.patterns[frequent].inputs, vec!["query"]);
}

#[test]
fn calls_made_in_either_order_share_a_level() {
    let (mined, _) = mine(PatternDetector::new().min_support(MinSupport::Sessions(20)));
    let parallel = mined.patterns.iter().find(|p| p.tools[0] == PARALLEL[0]).unwrap();
    let mut middle = parallel.level_ids()[1].clone();
    middle.sort();
    assert_eq!(parallel.level_ids().len(), 3);
    assert_eq!(parallel.level_ids()[0], vec!["open_ticket"]);
    assert_eq!(middle, vec!["notify_team", "tag_ticket"]);
    assert_eq!(parallel.level_ids()[2], vec!["close_ticket"]);
    // The sequential chains stay one step a level.
    let frequent = mined.patterns.iter().find(|p| p.tools == tools(&FREQUENT)).unwrap();
    assert_eq!(frequent.levels, vec![vec![0], vec![1], vec![2], vec![3]]);
    let template = parallel.template();
    let groups = template.parallel_groups.clone().unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(template.levels().unwrap(), groups);
}

#[test]
fn without_pruning_the_sub_chains_are_there_with_the_same_support() {
    let (mined, truth) =
        mine(PatternDetector::new().min_support(MinSupport::Sessions(20)).closed_only(false).top(None));
    let support = |chain: &[&str]| mined.patterns.iter().find(|p| p.tools == tools(chain)).map(|p| p.support);
    assert_eq!(support(&FREQUENT[1..3]), Some(truth.frequent.0));
    assert_eq!(support(&FREQUENT[..3]), Some(truth.frequent.0));
    assert_eq!(support(&RELIABLE[..2]), Some(truth.reliable));
}

#[test]
fn gaps_find_the_chain_through_the_calls_between() {
    let (mined, truth) = mine(PatternDetector::new().min_support(MinSupport::Sessions(20)).gaps(true));
    let found: Vec<(Vec<String>, u64)> =
        mined.patterns.iter().map(|p| (p.tools.clone(), p.support)).collect();
    // With gaps, open → close holds in every parallel session, and the whole chain in each order.
    assert!(found.contains(&(tools(&RELIABLE), truth.reliable)), "{found:?}");
    assert!(found.contains(&(tools(&FREQUENT), truth.frequent.0)), "{found:?}");
    let (a, b) = truth.parallel;
    assert!(
        found.contains(&(tools(&PARALLEL), a))
            || found.contains(&(tools(&[PARALLEL[0], PARALLEL[2], PARALLEL[1], PARALLEL[3]]), b)),
        "{found:?}"
    );
}

#[test]
fn minimum_support_as_a_share_of_the_sessions() {
    let (mined, truth) = mine(PatternDetector::new().min_support(MinSupport::Fraction(0.2)));
    // 20 % of 400 sessions: the parallel chain's orders (about 50 each) are under it.
    assert_eq!(mined.patterns.len(), 2);
    assert!(mined.patterns.iter().all(|p| p.support * 5 >= truth.sessions));
}

#[test]
fn context_groups_say_where_each_chain_starts_from() {
    let (mined, _) = mine(PatternDetector::new().min_support(MinSupport::Sessions(20)));
    let reliable = mined.patterns.iter().find(|p| p.tools == tools(&RELIABLE)).unwrap();
    // Sessions start with noise or with the chain's first call.
    let total: u64 = reliable.groups.iter().map(|&(_, n)| n).sum();
    assert_eq!(total, reliable.support);
    let starts: Vec<&str> =
        reliable.groups.iter().map(|&(g, _)| mined.groups[g].first_tool.as_str()).collect();
    assert!(starts.contains(&"fetch_repo"), "{starts:?}");
    let fetch = mined.groups.iter().find(|g| g.first_tool == "fetch_repo").unwrap();
    assert_eq!(fetch.argument_keys, vec!["repo"]);
}

#[test]
fn an_input_named_as_a_step_is_renamed() {
    let mut log = String::new();
    for (s, v) in ["p", "q", "r"].iter().enumerate() {
        log += &format!(
            "{{\"session_id\":\"{s}\",\"seq\":0,\"tool_name\":\"lookup\",\"parameters\":{{\"lookup\":\"{v}\"}},\"result\":null,\"success\":true}}\n{{\"session_id\":\"{s}\",\"seq\":1,\"tool_name\":\"save\",\"parameters\":{{}},\"result\":null,\"success\":true}}\n"
        );
    }
    let mined = PatternDetector::new().mine(&[LogSource::bytes("log", log.into_bytes())]).unwrap();
    let p = &mined.patterns[0];
    assert_eq!(p.inputs, vec!["lookup_input"]);
    assert_eq!(p.binding("lookup", "lookup").unwrap().bound, Bound::Input("lookup_input".into()));
    let dsl = p.dsl().unwrap();
    assert!(dsl.contains("lookup_to_save(lookup_input: serde_json::Value) {\n    lookup = lookup(lookup: <<lookup_input>>);"), "{dsl}");
}
