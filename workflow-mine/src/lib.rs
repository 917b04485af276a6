//! Pattern mining for [`workflow`](https://docs.rs/workflow): the tool chains that agents repeat,
//! found in their usage logs and written back as workflows.
//!
//! A usage log is JSON lines, one tool call a line (the format the runtime's execution log
//! writes):
//!
//! ```json
//! {"session_id": "s1", "seq": 0, "timestamp": null, "tool_name": "get_user_details",
//!  "parameters": {"user_id": "mia_li_3668"}, "result": {"orders": ["#W1"]}, "success": true,
//!  "duration_ms": null, "source": "support-bot"}
//! ```
//!
//! [`PatternDetector`] reads logs (files or bytes, plain or gzip, several at once), groups the
//! calls by session in `seq` order, and counts the chains of calls: contiguous runs of calls, or
//! with [`gaps`](PatternDetector::gaps) subsequences; each chain once per session. A chain
//! [succeeds](Pattern::success_rate) in a session when every call of its first occurrence there
//! did; its [score](Pattern::score) is support × success rate, and patterns are ranked by score,
//! then support, then the longer chain, then the tool names in lexicographic order. A chain that
//! a longer one with the same support contains is dropped (closed patterns).
//!
//! For the patterns kept, the logs are read a second time, for the arguments and results of
//! their first occurrences ([`MineOptions::max_occurrences`] of them), and each argument is
//! voted a [`Binding`]: a reference to a part of an earlier call's result
//! (`<<get_user_details.orders[0]>>`), a literal when it is the same value each time, or a
//! workflow input (one for the arguments that always receive the same value). Two calls made in
//! either order after the same step, with no data flow between them, share a
//! [level](Pattern::levels). Each pattern is then a workflow: [`Pattern::dsl`] writes
//! `workflow!` source and [`Pattern::template`] the same workflow as a
//! [`WorkflowTemplate`](workflow_runtime::WorkflowTemplate).
//!
//! ```
//! use workflow_mine::{Bound, LogSource, MinSupport, PatternDetector};
//!
//! let mut log = String::new();
//! for (session, user, order) in [("a", "ann_1", "#W11"), ("b", "bob_2", "#W22"), ("c", "cy_3", "#W33")] {
//!     let call = |seq: u32, tool: &str, parameters: String, result: String| {
//!         format!(r#"{{"session_id":"{session}","seq":{seq},"timestamp":null,"tool_name":"{tool}","parameters":{parameters},"result":{result},"success":true,"duration_ms":null,"source":"doc"}}"#) + "\n"
//!     };
//!     log += &call(0, "get_user_details", format!(r#"{{"user_id":"{user}"}}"#), format!(r#"{{"orders":["{order}"]}}"#));
//!     log += &call(1, "get_order_details", format!(r#"{{"order_id":"{order}"}}"#), r#"{"status":"delivered"}"#.into());
//! }
//!
//! let mined = PatternDetector::new()
//!     .min_support(MinSupport::Sessions(2))
//!     .mine(&[LogSource::bytes("log.jsonl", log.into_bytes())])?;
//! assert_eq!(mined.stats.events, 6);
//! let pattern = &mined.patterns[0];
//! assert_eq!(pattern.tools, ["get_user_details", "get_order_details"]);
//! assert_eq!((pattern.support, pattern.success_rate), (3, 1.0));
//! assert_eq!(
//!     pattern.binding("get_order_details", "order_id").map(|b| &b.bound),
//!     Some(&Bound::Ref { step: 0, path: vec![workflow_core::ast::Segment::Field("orders".into()), workflow_core::ast::Segment::Index(0)] })
//! );
//! assert_eq!(pattern.dsl()?, "\
//! /// Mined chain: get_user_details -> get_order_details.
//! /// Support 3 sessions, success rate 100.0 %, score 3.0.
//! /// Example session: `a`.
//! get_user_details_to_get_order_details(user_id: serde_json::Value) {
//!     get_user_details = get_user_details(user_id: <<user_id>>);
//!     get_order_details = get_order_details(order_id: <<get_user_details.orders[0]>>);
//! }
//! ");
//! assert_eq!(pattern.template().steps[1].parameters["order_id"], "{{get_user_details.orders[0]}}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Bad input
//!
//! A bad line (not UTF-8, not JSON, not an object, a field missing or of the wrong type, longer
//! than [`ReadOptions::max_line_bytes`], or a last line cut short) is reported as a [`BadLine`]
//! with its file, line number and reason, skipped and counted; CRLF line ends and a UTF-8 byte
//! order mark are read as usual, and a second event with the `session_id` and `seq` of an
//! earlier one is reported and left out. A file whose share of bad lines is over
//! [`ReadOptions::max_bad_ratio`] fails the read ([`MineError::TooManyBadLines`]), so a file that
//! is not a log is an error rather than "no patterns"; an empty file reads nothing.
//!
//! # Memory
//!
//! The first read keeps 32 bytes a call (its tool, `seq`, place and success), whatever the size
//! of its arguments and result; the counters then keep one entry per distinct chain. Only the
//! occurrences of the patterns reported are read in full, in the second read.
//!
//! # Data flow on real traces
//!
//! On `tests/data/traces/taubench.jsonl`, the references of the top 20 patterns (chains of up
//! to 4 calls) predict 1,417 links between calls of their occurrences; 1,264 of them are links
//! of `taubench.dag.jsonl`, which has 1,348 links between those calls: precision 0.892, recall
//! 0.938 (`tests/traces.rs`). Most misses are links through nested arguments
//! (`payment_methods[0].payment_id`), which are voted as a whole value here.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod count;
mod detect;
mod emit;
mod error;
mod event;
mod flow;
mod read;
mod session;

pub use detect::{
    ContextGroup, MinSupport, MineOptions, Mined, MinedStep, Occurrence, Pattern, PatternDetector, Progress,
    ReadStats,
};
pub use emit::CachePattern;
pub use error::{BadLine, BadReason, LineRef, MineError};
pub use flow::{Binding, Bound};
pub use read::{LogSource, ReadOptions};
