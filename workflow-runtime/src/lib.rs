//! The runtime of [`workflow`](https://docs.rs/workflow): tools, the tool registry, the step
//! driver and run records.
//!
//! Users depend on the `workflow` crate, which re-exports everything here; this crate holds the
//! code that runs, while `workflow-macros` and `workflow-derive` generate the code that calls it.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
mod context;
mod definition;
#[doc(hidden)]
pub mod dsl;
pub mod durable;
mod error;
pub mod exec;
pub mod journal;
pub mod library;
mod registry;
pub mod schema;
pub mod secret;
pub mod template;
pub mod tokens;
mod tool;
pub mod toolbox;
pub mod validate;

pub use context::{SubstituteError, WorkflowContext};
pub use definition::{
    AfterStep, ForEach, OnError, ToolCall, Trigger, WorkflowInput, WorkflowStep, WorkflowTemplate,
};
pub use error::{ErrorKind, StepError, ToolError, WorkflowError};
pub use exec::{
    Attempt, Attempts, DeadlineExceeded, ExecuteError, PreparedWorkflow, RetryPolicy, Run, RunContext,
    RunObserver, RunRecord, Schedule, StepInfo, StepRecord, StepSpec, StepStatus, TemplateRun,
    WorkflowExecutor,
};
pub use library::WorkflowLibrary;
pub use registry::{CallError, DuplicateTool, DynTool, Hints, ToolRegistry, closest};
pub use secret::Secret;
pub use tool::{CallTool, FromRef, State, Tool, ToolDefinition, ToolOutput, ToolResult};
pub use toolbox::Toolbox;

#[doc(hidden)]
pub use schemars;
#[doc(hidden)]
pub use serde_json;
