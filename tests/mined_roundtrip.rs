//! Round trip of the pattern miner on real agent traffic: the `workflow!` source it emits for the
//! top chains of `tests/data/traces/taubench.jsonl` compiles (`tests/mined/taubench_top.rs`),
//! and run against tools that replay the log, it makes the calls the agent made in a real
//! session, argument for argument.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use workflow::prelude::*;
use workflow_mine::{LogSource, PatternDetector};

include!("mined/taubench_top.rs");

const LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/traces/taubench.jsonl");

/// One logged call: the tool, its arguments and its result.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    tool: String,
    arguments: Value,
    result: Value,
}

/// Tools' answers from the log, and the calls the workflow made.
#[derive(Clone, Default)]
struct Replay {
    answers: Arc<Mutex<HashMap<String, VecDeque<Value>>>>,
    made: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Replay {
    fn of(calls: &[Call]) -> Self {
        let replay = Replay::default();
        for call in calls {
            let mut answers = replay.answers.lock().unwrap();
            answers.entry(call.tool.clone()).or_default().push_back(call.result.clone());
        }
        replay
    }

    fn answer(&self, tool: &str, arguments: Value) -> Result<Value, ToolError> {
        self.made.lock().unwrap().push((tool.to_owned(), arguments));
        let next = self.answers.lock().unwrap().get_mut(tool).and_then(VecDeque::pop_front);
        next.ok_or_else(|| ToolError::permanent(format!("the log has no further call of `{tool}`")))
    }

    fn made(&self) -> Vec<(String, Value)> {
        self.made.lock().unwrap().clone()
    }
}

/// Every session's calls, in `seq` order.
fn sessions() -> HashMap<String, Vec<Call>> {
    let mut sessions: HashMap<String, Vec<(u64, Call)>> = HashMap::new();
    for line in std::fs::read_to_string(LOG).expect("the taubench log").lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        let call = Call {
            tool: event["tool_name"].as_str().expect("a tool name").to_owned(),
            arguments: event["parameters"].clone(),
            result: event["result"].clone(),
        };
        let session = event["session_id"].as_str().expect("a session id").to_owned();
        sessions.entry(session).or_default().push((event["seq"].as_u64().expect("a seq"), call));
    }
    sessions
        .into_iter()
        .map(|(id, mut calls)| {
            calls.sort_by_key(|(seq, _)| *seq);
            (id, calls.into_iter().map(|(_, c)| c).collect())
        })
        .collect()
}

/// The first place where `tools` are called one after the other.
fn occurrence<'a>(calls: &'a [Call], tools: &[&str]) -> Option<&'a [Call]> {
    calls.windows(tools.len()).find(|w| w.iter().zip(tools).all(|(c, t)| c.tool == *t))
}

#[test]
fn the_compiled_source_is_what_the_miner_emits() {
    let mined = PatternDetector::new().top(Some(2)).mine(&[LogSource::path(LOG)]).expect("mined");
    let compiled = include_str!("mined/taubench_top.rs");
    assert_eq!(mined.patterns.len(), 2);
    for pattern in &mined.patterns {
        let dsl = pattern.dsl().expect("printable");
        let block: String = dsl.lines().map(|l| format!("    {l}\n")).collect();
        let block = block.replace("    \n", "\n");
        assert!(compiled.contains(&format!("workflow! {{\n{block}}}")), "not compiled as emitted:\n{dsl}");
    }
}

/// Replays `tools` in every session that calls them in a row; returns the sessions where the
/// workflow made exactly the logged calls, and how many sessions were tried.
async fn replay_all<F, Fut>(tools: &[&str], run: F) -> (Vec<String>, usize)
where
    F: Fn(Replay, Value) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (mut reproduced, mut tried) = (Vec::new(), 0);
    let mut sessions: Vec<(String, Vec<Call>)> = sessions().into_iter().collect();
    sessions.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, calls) in &sessions {
        let Some(logged) = occurrence(calls, tools) else { continue };
        tried += 1;
        let replay = Replay::of(logged);
        if run(replay.clone(), logged[0].arguments["user_id"].clone()).await {
            let expected: Vec<(String, Value)> =
                logged.iter().map(|c| (c.tool.clone(), c.arguments.clone())).collect();
            if replay.made() == expected {
                reproduced.push(id.clone());
            }
        }
    }
    (reproduced, tried)
}

#[tokio::test]
async fn a_mined_workflow_makes_the_calls_of_a_logged_session() {
    let tools = ["get_user_details", "get_reservation_details"];
    let (reproduced, tried) = replay_all(&tools, |replay, user_id| async move {
        get_user_details_to_get_reservation_details(user_id).run(&replay).await.is_ok()
    })
    .await;
    // The example session named in the emitted doc comment is reproduced exactly.
    assert!(reproduced.iter().any(|s| s == "tau-bench/gpt-4o-airline/task-2/trial-0"), "{reproduced:?}");
    // 128 sessions call the pair in a row (the miner's support); in 112 of them the agent passed
    // the first reservation the user has, as the mined reference does, and in the other 16
    // another one (the user asked about a later reservation).
    assert_eq!((reproduced.len(), tried), (112, 128), "sessions reproduced / sessions with the chain");
}

#[tokio::test]
async fn the_second_mined_workflow_too() {
    let tools = ["get_user_details", "get_order_details"];
    let (reproduced, tried) = replay_all(&tools, |replay, user_id| async move {
        get_user_details_to_get_order_details(user_id).run(&replay).await.is_ok()
    })
    .await;
    assert!(
        reproduced
            .iter()
            .any(|s| s == "tau2-bench/toolorchestra-retail/sim-a3ca649a-9981-4268-bf0c-b45c96cd8dba"),
        "{reproduced:?}"
    );
    // 98 sessions (the miner's support); in 89 the agent read the user's first order.
    assert_eq!((reproduced.len(), tried), (89, 98), "sessions reproduced / sessions with the chain");
}

#[test]
fn mined_patterns_are_kept_in_the_library_and_suggested_for_the_tools_they_call() {
    use workflow::library::Origin;
    use workflow_mine::CachePattern as _;

    let mined = PatternDetector::new().top(Some(5)).mine(&[LogSource::path(LOG)]).expect("mined");
    let mut library = workflow::WorkflowLibrary::new();
    for pattern in &mined.patterns {
        library.cache_pattern(pattern).expect("a valid workflow");
    }
    assert_eq!(library.len(), 5);
    let found = library.suggest(&["get_user_details", "get_order_details", "think"]);
    let names: Vec<&str> = found.iter().map(|s| s.entry.template.name.as_str()).collect();
    // Every suggestion calls only the given tools, the best-scored first.
    assert!(
        found.iter().all(|s| s
            .entry
            .tools
            .iter()
            .all(|t| t == "get_user_details" || t == "get_order_details"))
    );
    assert_eq!(names.first(), Some(&"get_user_details_to_get_order_details"), "{names:?}");
    let Some(&Origin::Mined { support, .. }) = library.get(names[0]).map(|e| &e.origin) else {
        panic!("a mined workflow")
    };
    assert_eq!(support, 98);
    // Mining again replaces what was cached, and keeps one entry per pattern.
    library.cache_pattern(&mined.patterns[0]).expect("re-cached");
    assert_eq!(library.len(), 5);
}
