//! Compile-time checked tool workflows for LLM agents.
//!
//! Declare tools as plain async functions, chain them with [`workflow!`], and let the compiler
//! check the chain: no cycles, no reference to a step or field that does not exist, no argument
//! of the wrong type. The workflow runs level by level, independent steps concurrently, with
//! retries, timeouts and conditions, and every run leaves a record of what each step did.
//!
//! # A tool
//!
//! `#[tool]` on an `async fn` makes a tool. Its name is the function's, its description the doc
//! comment, and its JSON schema comes from the parameters. It returns `Result<T, E>` where `T`
//! is a [`ToolOutput`] and `E` converts into [`ToolError`].
//!
//! ```
//! use workflow::prelude::*;
//!
//! #[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
//! pub struct PullRequest {
//!     pub url: String,
//!     pub number: u64,
//! }
//!
//! /// Open a pull request.
//! #[tool]
//! pub async fn create_pr(repo: String, title: String) -> Result<PullRequest, ToolError> {
//!     Ok(PullRequest { url: format!("https://github.com/{repo}/pull/1"), number: 1 })
//! }
//!
//! // `#[tool]` keeps the function as written and adds a struct of the same name holding the
//! // model-facing arguments, which implements `Tool`:
//! use workflow::Tool;
//! assert_eq!(create_pr::NAME, "create_pr");
//! assert_eq!(create_pr::DESCRIPTION, "Open a pull request.");
//! let schema = create_pr::definition().input_schema;
//! assert_eq!(schema.to_value()["required"], serde_json::json!(["repo", "title"]));
//! ```
//!
//! `#[tool(name = "…", description = "…")]` overrides the name or the description. A tool needs
//! a description: models choose tools by it.
//!
//! # Outputs
//!
//! `#[derive(ToolOutput)]` on a struct with named fields makes it a tool output and gives it a
//! JSON schema (it implements `schemars::JsonSchema`, so do not derive that too). Fields may be
//! other outputs, `Vec`, `Option`, string-keyed maps, numbers, `bool`, `String` or
//! `serde_json::Value`; `#[serde(rename = "…")]` on a field is followed by the schema. Those std
//! types are outputs on their own too.
//!
//! An output also derives `Serialize` and `Deserialize` (`#[derive(ToolOutput, Serialize,
//! Deserialize)]`): outputs are recorded as JSON, and read back when a run is resumed.
//!
//! # Shared state
//!
//! A tool that needs a client or credentials takes them as a [`State<T>`] parameter, which is
//! not part of its JSON schema. The workflow is run with a state `S`, and the tool receives a
//! `T` made by [`FromRef<S>`](FromRef), as with axum's `State` extractor:
//!
//! ```
//! use workflow::prelude::*;
//!
//! #[derive(Clone)]
//! pub struct Github { pub base_url: String, pub token: String }
//!
//! pub struct App { pub github: Github }
//!
//! impl FromRef<App> for Github {
//!     fn from_ref(app: &App) -> Self { app.github.clone() }
//! }
//!
//! /// Describe the API this tool talks to.
//! #[tool]
//! pub async fn api_url(State(gh): State<Github>, path: String) -> Result<String, ToolError> {
//!     Ok(format!("{}{}", gh.base_url, path))
//! }
//! ```
//!
//! Two more kinds of parameter are not arguments either: one typed [`journal::IdempotencyKey`]
//! receives the call's idempotency key (stable across retries and resumes of a journaled run),
//! and a `#[secret]` mark on an argument keeps its value out of every record, like a
//! [`Secret<T>`](Secret) argument:
//!
//! ```
//! use workflow::prelude::*;
//! use workflow::journal::IdempotencyKey;
//!
//! /// Charge a card once, whatever the retries.
//! #[tool(idempotent = false)]
//! pub async fn charge(key: IdempotencyKey, #[secret] api_key: String, cents: u64) -> Result<String, ToolError> {
//!     let _ = api_key; // sent as a header, never logged
//!     Ok(format!("charged {cents} (Idempotency-Key: {key})"))
//! }
//! ```
//!
//! # A workflow
//!
//! ```
//! use workflow::prelude::*;
//!
//! #[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
//! pub struct Issue { pub number: u64, pub title: String }
//!
//! #[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
//! pub struct IssueList { pub issues: Vec<Issue> }
//!
//! /// List the open issues of a repository.
//! #[tool]
//! pub async fn list_issues(repo: String) -> Result<IssueList, ToolError> {
//!     Ok(IssueList { issues: vec![Issue { number: 42, title: format!("Crash in {repo}") }] })
//! }
//!
//! /// Open a pull request; returns its number.
//! #[tool]
//! pub async fn create_pr(repo: String, title: String, body: String) -> Result<u64, ToolError> {
//!     Ok(7)
//! }
//!
//! /// Post a chat message.
//! #[tool]
//! pub async fn send_message(channel: String, message: String) -> Result<String, ToolError> {
//!     Ok(message)
//! }
//!
//! workflow! {
//!     /// Open a PR for the first open issue and tell the team.
//!     pub pr_for_first_issue(repo: String) {
//!         issues = list_issues(repo: <<repo>>);
//!         pr     = create_pr(
//!                      repo: <<repo>>,
//!                      title: <<issues.issues[0].title>>,
//!                      body: "Fixes #<<issues.issues[0].number>>",
//!                  ) retry 3 backoff 1s timeout 30s;
//!         notify = send_message(channel: "#dev", message: "PR #<<pr>> is open")
//!                  if <<pr>> > 0
//!                  on_error skip;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let run = pr_for_first_issue("acme/app".into()).run(&()).await?;
//! assert_eq!(run.pr, 7);
//! assert_eq!(run.notify.as_deref(), Some("PR #7 is open"));
//! assert_eq!(pr_for_first_issue::LEVELS, &[&["issues"][..], &["pr"], &["notify"]]);
//! for step in &run.record.steps {
//!     println!("{} {:?} in {:?}", step.step, step.status, step.duration());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A workflow is `name(input: Type, …) { step = tool(arg: value, …) clauses; … }`. It becomes:
//!
//! - `struct name { inputs }` and `fn name(inputs) -> name`; `name(…).run(&state).await` runs it
//!   and returns [`Run<NameOutputs>`](Run) or a [`WorkflowError`]. Use `&()` when no tool takes
//!   state. Dropping the future cancels every step in flight. `run` takes anything that converts
//!   into a [`RunContext`]: a reference to the state, or `RunContext::new(&state).observe(&obs)`
//!   for [observers](#records-and-observers).
//! - `struct NameOutputs` with one field per step: the tool's output, or `Option` of it for a
//!   step that may not run. [`Run`] dereferences to it, and carries the [`RunRecord`].
//! - `name::LEVELS` (the step ids of each level, the seed's `parallel_groups`), `name::STEPS`
//!   (each step's tool and the steps it needs), `name::SPECS` (each step's retry policy and
//!   timeout, as the step driver runs them), `name::NAME`, `name::DESCRIPTION`, and
//!   `name::template()` (the workflow as a [`WorkflowTemplate`], printed as DSL text and read
//!   back as run-time text is).
//!
//! ## Values
//!
//! - `<<input>>`, `<<step>>`, `<<step.field.nested>>`, `<<step.items[0].name>>`,
//!   `<<step.items[-1]>>` (from the end), `<<step.map["key"]>>`: as a whole argument, the typed
//!   value (cloned). A step runs after every step it refers to.
//! - `"Fixes #<<list.issues[0].number>>"`: a string literal with references interpolated as
//!   their JSON text, exactly as the run-time engine writes `{{…}}`: a string without its quotes,
//!   a number as `serde_json` prints it (`1.0` stays `1.0`), `true`/`false`, `null` (and `None`)
//!   as nothing, a list, map or struct as compact JSON. The value must be `Serialize`.
//! - Any Rust expression, with references spliced in as places:
//!   `count: <<search.hits>>.len() as u32`.
//! - A string literal fills a parameter of any type that is `From<&str>` (`String`, `&str`,
//!   `Cow<str>`, `serde_json::Value`, …), one with references any type that is `From<String>`;
//!   for a number or a bool, write it without quotes.
//!
//! Field access into a typed output is checked by the compiler. An index out of range or a
//! missing key fails the step at run time, naming the reference. An output typed
//! `serde_json::Value` (a tool known only by its JSON, such as one on an MCP server or one the
//! pattern miner found in a log) is read the same way, `<<doc.user.name>>`,
//! `<<doc.orders[0].id>>` or `<<doc["user"]>>`, and checked when the step runs: a field that is
//! not there fails the step with "reference `doc.user.email`: no field `email`; it has `id`,
//! `name`". As a whole argument such a reference passes an owned `serde_json::Value`.
//!
//! ## Clauses
//!
//! | clause | meaning |
//! | --- | --- |
//! | `depends a, b` | run after `a` and `b` too (ordering only) |
//! | `if <expr>` | run only when the `bool` expression is true; otherwise the step and its dependents are skipped |
//! | `retry N [backoff D [xF]] [max D] [jitter]` | call again up to `N` times on a retryable error, waiting `D`, `D×F`, … capped at `max` (`D` defaults to 2 s and `F` to 2, for compiled and run-time workflows alike; `backoff 0s` retries at once). An error is retryable unless the tool marks it permanent (`ToolError::permanent`), so `Err("…".into())` is retried; a timed-out attempt is retried, a panic, a bad reference or arguments that do not fit the tool are not. `jitter` waits a random delay between zero and the capped one (full jitter), drawn from a seed when the run is given one (`RunContext::with_jitter_seed`): the same seed, the same schedule, compiled or at run time |
//! | `timeout D` | fail an attempt that takes longer than `D` (`500ms`, `30s`, `2m`, `1h`) |
//! | `deadline D` | fail the step when all its attempts and the waits between them take longer than `D`, cutting short the call in flight (recorded as a failed attempt); not retried; at least the `timeout`, which the compiler checks (`deadline_seconds` in a run-time template) |
//! | `… on timeout, rate_limited` (last in `retry`) | retry only errors of these classes: a tool's `ToolError::with_class` (`ToolError::RATE_LIMITED`, `UNAVAILABLE`), `timeout` for a step's own timeout, `panic`; a permanent error is never retried (`retry_on` in a run-time template) |
//! | `on_error abort` | on failure, stop the run (the default): the calls still running are cancelled, no step starts but those with `after`, then the compensations run |
//! | `on_error skip` | on failure, record it and go on: the steps after this one follow their trigger rule |
//! | `on_error fallback tool(…)` | on failure (its retries spent), call `tool` once, within the step's timeout; its output takes the step's place, so it must be of the same type (checked by the compiler, at the fallback's tool); the record says `fallback: true` |
//! | `compensate tool(…)` | when the run fails after this step succeeded, call `tool` to undo it: the compensations run in the reverse order of their steps' completion, each retried up to 3 times ([`COMPENSATION_RETRY`](workflow_runtime::exec::COMPENSATION_RETRY)); one that fails is recorded and the others still run. It may read the step's own output, the inputs and what the step read |
//! | `after X failed` / `after X always` | run only if step `X` failed / once `X` has ended however it ended (a `finally`); both run while a failing run winds down. The step cannot read `X`'s output, which it may not have. Without `after`, a step whose upstream failed or was skipped is skipped |
//! | `if <<x.$failed>>` | a condition may test how a step ended: `$succeeded`, `$failed`, `$skipped`, `$cancelled`, and `$timed_out` (failed because its `timeout` or `deadline` cut it) — a `$` name is never an output field; `{{x.$failed}}` at run time. The step then needs `x` only to have ended, however it did, and runs while a failing run winds down, as with `after` |
//! | `for item in <<list>> [max N] [tolerate K]` | call the tool once per element of the list (`<<item>>`, `<<item.field>>` in the step's arguments only), at most `N` at once; the output is a `Vec` of the calls' outputs in the list's order (`Vec<Option<_>>` with `tolerate`); the step fails only past `K` failed calls, the tolerated failures listed in its record. `max 0` and a `for` over something that is not a list are compile errors |
//!
//! A workflow marked `#[schedule(eager)]` starts each step as soon as what it needs has ended,
//! instead of after its whole level: better when steps take uneven times (a 200-step DAG of 1 ms
//! and 20 ms steps runs in 1.00× its critical path eagerly, 1.79× by levels; see
//! `BENCHMARKS.md`), at the price of one loop that polls every step. The trigger rules,
//! compensations and status conditions are the same under both schedules. Run-time workflows
//! choose with [`Schedule`].
//!
//! Clauses come in any order, each at most once (a second `retry` is an error rather than a
//! silent override; so is a second `depends`: name every step in one, `depends a, b`).
//!
//! Steps and inputs are separate namespaces: a step may not have an input's name, and an input
//! never stands in for a step's output (inputs may come from a model).
//!
//! ## Checked at compile time
//!
//! The rules are those of `workflow-core`'s rule book, the same for run-time workflows (see
//! [`validate`]): duplicate steps, unknown steps or inputs in references (with a suggestion), dependency cycles
//! (naming the whole cycle), self-dependencies, `depends` on unknown steps, repeated clauses,
//! bad durations and retry counts are reported by the macro, all at once, each at the token to fix. Unknown tools,
//! unknown or missing arguments, arguments of the wrong type, unknown output fields, indexing a
//! non-list and non-`bool` conditions are reported by rustc at the offending token in the
//! workflow.
//!
//! # Records and observers
//!
//! Every run leaves a [`RunRecord`]: per step a [`StepRecord`] with its [`StepStatus`], every
//! [`Attempt`] (start, end and error), and the step's start and end on tokio's clock. A step ends
//! at a fresh reading of the clock, so a tool that computes without yielding is recorded as
//! taking the time it took. That reading is the processor's counter where it has a steady one
//! (the TSC, the AArch64 system counter: about 10 ns, against 25 ns for the operating system's
//! clock; calibrated once per process, on a thread of its own, and until then tokio's clock),
//! and tokio's own clock when that is paused, so that tests with paused time see exact
//! durations. The wall clock is read once per run and every wall-clock time is derived from it
//! ([`StepRecord::started_at`], [`StepRecord::wall`]). Records are `serde::Serialize`: times as
//! Unix milliseconds (`started_at_ms`), durations as milliseconds (`duration_ms`).
//!
//! A step with no policy (no retry, time limit, fallback, condition, trigger rule or `for`) of a
//! workflow run by levels takes the driver's short way: its tool's future polled under a panic
//! guard, its record written in place. A run with a journal, a limit on calls in flight, or a
//! `tracing` subscriber that takes `INFO` (and so each step's `workflow.step` span) runs every
//! step the full way; both ways record the same.
//!
//! A [`RunObserver`] added to the run's [`RunContext`] is told of each step as the run takes it
//! in, and gets the run's record when it ends, also when the run fails, or is dropped or
//! cancelled part-way: then the record is partial ([`RunRecord::cancelled`]), the steps that
//! finished as they are, the others [`Pending`](StepStatus::Pending) or
//! [`Cancelled`](StepStatus::Cancelled).
//!
//! # Journaled runs
//!
//! [`RunContext::with_journal`] gives a run a [`journal::Journal`] and a [`journal::RunId`]: every
//! step's start and end is appended as the run goes (a step's end is durable before the steps
//! that need it start), and running again with the same id resumes the run without calling
//! again the steps that succeeded; [`journal`] says exactly what is replayed, rerun or refused.
//! [`journal::MemoryJournal`] keeps entries in memory; the `store` and `postgres` features add
//! `store::SqliteStore` and `store::PostgresStore`, with the JSONL export the miner reads, and
//! the queue and workers of the PostgreSQL store. A tool takes its call's idempotency key as a
//! parameter typed [`journal::IdempotencyKey`]; [`durable::wait_for_signal`] and
//! [`durable::sleep_for`] wait across the exit of the process; [`Secret`] and `#[secret]` keep
//! values out of every record.
//!
//! # Errors
//!
//! [`WorkflowError`], [`ExecuteError`] and [`validate::Problems`] print well from `main`: their
//! `Debug` form (what `fn main() -> Result<(), Box<dyn Error>>` shows) draws each problem with
//! the offending text underlined, or lists what every step of a failed run did. `ExecuteError`
//! and `Problems` are `miette::Diagnostic`s for programs that draw errors themselves.
//!
//! # Running tools by name
//!
//! A [`ToolRegistry`] calls tools by name with JSON arguments, for models and run-time workflows;
//! see its documentation. Run-time workflows ([`WorkflowExecutor`]) call their tools through the
//! [`Toolbox`] trait, which a registry implements and so can a client of a remote tool server.
//! `executor.execute(&workflow, &tools, inputs)` runs one; pass
//! `RunContext::new(&tools).observe(&obs).with_deadline(d)` instead of `&tools` for observers
//! and a whole-run deadline.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate self as workflow;

#[doc(hidden)]
pub mod __private;

pub use workflow_derive::ToolOutput;
pub use workflow_macros::{tool, workflow};
pub use workflow_runtime::{
    AfterStep, Attempt, Attempts, CallError, CallTool, DeadlineExceeded, DuplicateTool, ErrorKind,
    ExecuteError, FromRef, OnError, PreparedWorkflow, RetryPolicy, Run, RunContext, RunObserver, RunRecord,
    Schedule, Secret, State, StepError, StepInfo, StepRecord, StepSpec, StepStatus, SubstituteError,
    TemplateRun, Tool, ToolCall, ToolDefinition, ToolError, ToolOutput, ToolRegistry, ToolResult, Toolbox,
    Trigger, WorkflowContext, WorkflowError, WorkflowExecutor, WorkflowInput, WorkflowLibrary, WorkflowStep,
    WorkflowTemplate,
};
pub use workflow_runtime::{durable, journal, library, secret, template, toolbox, validate};

/// The cancellation token a run takes ([`RunContext::with_cancellation`]).
pub use tokio_util;

/// Pattern mining (feature `mine`): the tool chains agents repeat, found in usage logs and
/// written back as `workflow!` source and [`WorkflowTemplate`]s. See [`mine::PatternDetector`].
#[cfg(feature = "mine")]
pub use workflow_mine as mine;

/// The execution log and journal (features `store`, SQLite, and `postgres`): runs and steps
/// recorded as they go, resumed from where they stopped, exported for the miner. See
/// [`store::SqliteStore`] and [`journal`].
#[cfg(any(feature = "store", feature = "postgres"))]
pub use workflow_store as store;

/// MCP (feature `mcp`): the tools of MCP servers as steps, and workflows served as MCP tools,
/// with rmcp. See [`mcp::McpServer`] and [`mcp::McpService`].
#[cfg(feature = "mcp")]
pub use workflow_mcp as mcp;

/// Tool search (feature `search`): tools ranked by a description with BM25, and workflows
/// planned from a description. See [`search::ToolIndex`] and [`search::KeywordPlanner`].
#[cfg(feature = "search")]
pub use workflow_search as search;

/// Token accounting: the tokens of a run's outputs kept out of a model and returned
/// ([`RunContext::with_tokenizer`]); with feature `tokens`, OpenAI's tokenizers
/// (`tokens::Tiktoken`, tiktoken's `o200k_base` and `cl100k_base`).
pub mod tokens {
    pub use workflow_runtime::tokens::*;
    #[cfg(feature = "tokens")]
    pub use workflow_tokens::{Encoding, Tiktoken, TokenizerError};
}

/// Everything a workflow author needs: `use workflow::prelude::*;`.
pub mod prelude {
    pub use crate::{
        FromRef, Run, State, StepStatus, ToolError, ToolOutput, ToolRegistry, WorkflowError, tool, workflow,
    };
    pub use serde::{Deserialize, Serialize};
}
