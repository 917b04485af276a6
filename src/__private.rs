//! For macro-generated code only. Not public API; changes in any release.

pub use ::core::future::poll_fn;
pub use ::core::option::Option::{self, None, Some};
pub use ::core::pin::pin;
pub use ::core::result::Result::{self, Err, Ok};
pub use ::core::task::Poll;
pub use ::core::time::Duration;
pub use ::futures::future::maybe_done;
pub use ::futures::join;
pub use ::schemars;
pub use ::serde;
pub use ::serde_json;
pub use ::std::borrow::Cow;
pub use ::std::{boxed::Box, string::String, vec, vec::Vec};

pub use ::serde_json::Value;
pub use workflow_runtime::access;
pub use workflow_runtime::dsl;
pub use workflow_runtime::exec::{self, RunRecorder, StepOutcome, StepSpec};
pub use workflow_runtime::journal;
pub use workflow_runtime::schema;
pub use workflow_runtime::secret;
pub use workflow_runtime::{
    CallTool, FromRef, RetryPolicy, Run, RunContext, State, StepError, StepInfo, StepRecord, Tool, ToolError,
    ToolOutput, ToolResult, WorkflowError, WorkflowTemplate,
};

/// A `#[tool]`'s return type `R`, with `CHECKED` read from `<R as ToolResult>::CHECKED`. When `R`
/// is not a `ToolResult`, that read is the one error reported: `CHECKED` becomes an error
/// constant, and every type derived through [`Checked`] an error type, which rustc reports
/// nowhere else (not at the tool's impls, nor at the workflows that call it).
pub struct Returns<R, const CHECKED: bool>(::core::marker::PhantomData<R>);

/// The output of a checked return type, and the conversion to the uniform result.
pub trait Checked {
    /// The user's return type.
    type Returns;
    /// The tool's output.
    type Output;
    /// Converts what the tool's function returned.
    fn finish(returned: Self::Returns) -> Result<Self::Output, ToolError>;
}

impl<R: ToolResult> Checked for Returns<R, true> {
    type Returns = R;
    type Output = R::Output;
    fn finish(returned: R) -> Result<R::Output, ToolError> {
        returned.into_tool_result()
    }
}

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

/// Deserialises a `#[secret]` argument; an error says what was expected, never the value.
pub fn secret_field<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: ::serde::Deserializer<'de>,
    T: ::serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map_err(|_| {
        <D::Error as ::serde::de::Error>::custom(::std::format!(
            "a secret that is not a valid `{}`",
            ::std::any::type_name::<T>()
        ))
    })
}
