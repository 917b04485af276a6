//! Tools: the [`Tool`] metadata trait, the [`CallTool`] call trait, typed outputs and shared state.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::access::StaticFields;
use crate::error::ToolError;

/// A value a tool can return: serialisable and deserialisable, with a JSON schema.
///
/// `#[derive(ToolOutput)]` implements it (and [`JsonSchema`]) for structs with named fields,
/// which also derive `Serialize` and `Deserialize`; it is implemented for strings, numbers,
/// `bool`, `()`, `Vec<T>`, `Option<T>`, string-keyed maps and [`serde_json::Value`].
///
/// Outputs deserialise so that a run can be resumed from a journal: the recorded outputs of the
/// steps that finished are read back instead of calling their tools again.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a tool",
    label = "not a tool output",
    note = "add `#[derive(ToolOutput, Serialize, Deserialize)]` to the type, or return a `String`, a number, a `Vec` or a `serde_json::Value`"
)]
pub trait ToolOutput: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// The JSON schema of this output, as models and run-time workflows see it.
    fn output_schema() -> Schema {
        SchemaGenerator::default().into_root_schema_for::<Self>()
    }
}

macro_rules! tool_output {
    ($($ty:ty),* $(,)?) => { $(impl ToolOutput for $ty {} impl StaticFields for $ty {})* };
}
tool_output!(
    String,
    bool,
    char,
    (),
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    std::path::PathBuf
);
// Its fields are read when a step runs (`crate::access::Fields`), so not `StaticFields`.
impl ToolOutput for serde_json::Value {}
impl<T: ToolOutput> StaticFields for Vec<T> {}
impl<T: ToolOutput> StaticFields for Option<T> {}
impl<T: ToolOutput> StaticFields for Box<T> {}
impl<V: ToolOutput> StaticFields for BTreeMap<String, V> {}
impl<V: ToolOutput, H: std::hash::BuildHasher + Default + Send + Sync + 'static> StaticFields
    for HashMap<String, V, H>
{
}
impl<T: ToolOutput> ToolOutput for Vec<T> {}
impl<T: ToolOutput> ToolOutput for Option<T> {}
impl<T: ToolOutput> ToolOutput for Box<T> {}
impl<V: ToolOutput> ToolOutput for BTreeMap<String, V> {}
impl<V: ToolOutput, H: std::hash::BuildHasher + Default + Send + Sync + 'static> ToolOutput
    for HashMap<String, V, H>
{
}

/// What a tool returns: `Result<T, E>` with `T: ToolOutput` and `E: Into<ToolError>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool result",
    label = "a tool returns `Result<T, E>`",
    note = "write `Result<T, ToolError>` where `T` implements `ToolOutput`; any error type that converts `Into<ToolError>` works too"
)]
pub trait ToolResult {
    /// The successful output (checked to be a [`ToolOutput`] by [`Tool::Output`]).
    type Output;
    /// Converts to the uniform result.
    fn into_tool_result(self) -> Result<Self::Output, ToolError>;

    /// `true`. `#[tool]` reads it once to check its return type, so a return type that is not a
    /// `ToolResult` is reported there alone.
    #[doc(hidden)]
    const CHECKED: bool = true;
}

impl<T, E: Into<ToolError>> ToolResult for Result<T, E> {
    type Output = T;
    fn into_tool_result(self) -> Result<T, ToolError> {
        self.map_err(Into::into)
    }
}

/// A tool: its model-facing arguments, with its name, description and schemas.
///
/// `#[tool]` implements it on a struct named after the function, whose fields are the function's
/// model-facing parameters; `workflow!` builds that struct, and [`ToolRegistry`](crate::ToolRegistry)
/// deserialises it from JSON.
pub trait Tool: DeserializeOwned + JsonSchema + Send + 'static {
    /// What a successful call returns.
    type Output: ToolOutput;
    /// The tool's name, as models call it.
    const NAME: &'static str;
    /// What the tool does, from its doc comment.
    const DESCRIPTION: &'static str;
    /// Whether calling it twice with the same arguments does what calling it once does (MCP's
    /// `idempotent_hint`). `#[tool(idempotent = false)]` says it does not: `workflow!` then warns
    /// at a `retry` of it, which may repeat its effect.
    const IDEMPOTENT: bool = true;
    /// Whether it changes nothing, only reads (MCP's `read_only_hint`):
    /// `#[tool(read_only = true)]`.
    const READ_ONLY: bool = false;

    /// The arguments as JSON, as a run's journal records them: a value marked `#[secret]` (or
    /// typed [`Secret<T>`](crate::Secret)) as `"[REDACTED]"`, one that does not serialise as
    /// `null`. `#[tool]` implements it; the default records nothing (`null`).
    fn arguments_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// The tool's name, description and schemas.
    fn definition() -> ToolDefinition {
        ToolDefinition {
            name: Self::NAME.to_owned(),
            description: Self::DESCRIPTION.to_owned(),
            input_schema: SchemaGenerator::default().into_root_schema_for::<Self>(),
            output_schema: Self::Output::output_schema(),
        }
    }
}

/// Calls a tool with shared state of type `S`.
///
/// Stateless tools implement it for every `S`; a tool taking [`State<T>`] implements it for
/// every `S` where `T: FromRef<S>`.
#[diagnostic::on_unimplemented(
    message = "tool `{Self}` cannot be called with state `{S}`",
    label = "this tool needs shared state that `{S}` does not provide",
    note = "implement `FromRef<{S}>` for the type inside the tool's `State<…>` parameter"
)]
pub trait CallTool<S: ?Sized>: Tool {
    /// Runs the tool.
    fn call(self, state: &S) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// A tool's name, description, input schema and output schema.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ToolDefinition {
    /// The name models call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON schema of its arguments.
    pub input_schema: Schema,
    /// JSON schema of its output.
    pub output_schema: Schema,
}

/// Shared state a tool receives besides its model-facing arguments, like axum's `State`.
///
/// A parameter typed `State<T>` is not part of the tool's JSON schema; the workflow (or
/// registry) hands it a `T` made from its own state with [`FromRef`].
///
/// ```
/// use workflow::prelude::*;
///
/// #[derive(Clone)]
/// struct Api { base_url: String }
///
/// /// Fetch a page.
/// #[tool]
/// async fn fetch(State(api): State<Api>, path: String) -> Result<String, ToolError> {
///     Ok(format!("{}{}", api.base_url, path))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

/// Makes a value of `Self` from a reference to the workflow's state `S`, like axum's `FromRef`.
///
/// Every `T: Clone` comes from itself; implement it to take a part of a larger state:
///
/// ```
/// use workflow::FromRef;
/// #[derive(Clone)] struct Http;
/// struct AppState { http: Http }
/// impl FromRef<AppState> for Http {
///     fn from_ref(state: &AppState) -> Self { state.http.clone() }
/// }
/// ```
pub trait FromRef<S: ?Sized> {
    /// Makes the value.
    fn from_ref(state: &S) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(state: &T) -> Self {
        state.clone()
    }
}
