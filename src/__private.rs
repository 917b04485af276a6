//! For macro-generated code only. Not public API; changes in any release.

pub use ::core::option::Option::{self, None, Some};
pub use ::core::result::Result::{self, Err, Ok};
pub use ::core::time::Duration;
pub use ::futures::join;
pub use ::schemars;
pub use ::serde;
pub use ::serde_json;
pub use ::std::borrow::Cow;
pub use ::std::{boxed::Box, string::String, vec, vec::Vec};

pub use ::serde_json::Value;
pub use workflow_runtime::access;
pub use workflow_runtime::dsl;
pub use workflow_runtime::exec::{self, RunRecorder, StepOutcome, StepSpec, in_run_span};
pub use workflow_runtime::schema;
pub use workflow_runtime::{
    CallTool, FromRef, RetryPolicy, Run, RunContext, State, StepError, StepInfo, StepRecord, Tool, ToolError,
    ToolOutput, ToolResult, WorkflowError, WorkflowTemplate,
};

/// Asserts at compile time that a field of a `#[derive(ToolOutput)]` type is a tool output.
pub const fn assert_field_output<T: ToolOutput>() {}

/// Formats a tool output for `Debug` as its JSON, since outputs are `Serialize` but not always
/// `Debug`.
pub struct DebugJson<'a, T: ?Sized>(pub &'a T);

impl<T: ::serde::Serialize + ?Sized> ::core::fmt::Debug for DebugJson<'_, T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        match ::serde_json::to_string(self.0) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str("<not JSON>"),
        }
    }
}
