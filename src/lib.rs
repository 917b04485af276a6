//! Compile-time checked tool workflows for LLM agents.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate self as workflow;

#[doc(hidden)]
pub mod __private;

pub use workflow_derive::ToolOutput;
pub use workflow_macros::{tool, workflow};
pub use workflow_runtime::{
    CallError, CallTool, DuplicateTool, ErrorKind, FromRef, RetryPolicy, Run, RunRecord, State, StepError,
    StepInfo, StepRecord, StepStatus, Tool, ToolDefinition, ToolError, ToolOutput, ToolRegistry, ToolResult,
    WorkflowError,
};

/// Everything a workflow author needs: `use workflow::prelude::*;`.
pub mod prelude {
    pub use crate::{
        FromRef, Run, State, StepStatus, ToolError, ToolOutput, ToolRegistry, WorkflowError, tool, workflow,
    };
    pub use serde::{Deserialize, Serialize};
}
