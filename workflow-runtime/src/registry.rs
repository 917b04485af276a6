//! [`ToolRegistry`]: tools called by name with JSON arguments.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use serde_json::Value;

use crate::error::ToolError;
use crate::tool::{CallTool, ToolDefinition};
use crate::toolbox::{BoxFuture, Toolbox};

/// Why a call by name failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No tool has this name.
    #[error("unknown tool `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownTool {
        /// The name asked for.
        name: String,
        /// The closest registered name, if one is close.
        suggestion: Option<String>,
    },
    /// The arguments do not match the tool's input schema.
    #[error("invalid arguments for tool `{tool}`: {reason}")]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What serde reported.
        reason: String,
    },
    /// The output could not be turned into JSON.
    #[error("tool `{tool}` returned an output that is not JSON: {reason}")]
    InvalidOutput {
        /// The tool.
        tool: String,
        /// What serde reported.
        reason: String,
    },
    /// The tool ran and failed.
    #[error("tool `{tool}` failed: {source}")]
    Tool {
        /// The tool.
        tool: String,
        /// Its error.
        #[source]
        source: ToolError,
    },
    /// The tool panicked.
    #[error("tool `{tool}` panicked: {message}")]
    Panicked {
        /// The tool.
        tool: String,
        /// The panic message.
        message: String,
    },
}

/// Two tools registered under one name.
#[derive(Debug, thiserror::Error)]
#[error("a tool named `{0}` is already registered")]
pub struct DuplicateTool(pub String);

trait ErasedTool<S>: Send + Sync {
    fn definition(&self) -> &ToolDefinition;
    fn idempotent(&self) -> bool;
    fn read_only(&self) -> bool;
    fn call<'a>(&'a self, state: &'a S, args: Value) -> BoxFuture<'a, Result<Value, CallError>>;
}

struct Erased<T> {
    definition: ToolDefinition,
    tool: PhantomData<fn() -> T>,
}

impl<S: Sync, T: CallTool<S>> ErasedTool<S> for Erased<T> {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn idempotent(&self) -> bool {
        T::IDEMPOTENT
    }

    fn read_only(&self) -> bool {
        T::READ_ONLY
    }

    fn call<'a>(&'a self, state: &'a S, args: Value) -> BoxFuture<'a, Result<Value, CallError>> {
        Box::pin(async move {
            let tool = || T::NAME.to_owned();
            let input: T = serde_json::from_value(args).map_err(|e| CallError::InvalidArguments {
                tool: tool(),
                reason: crate::secret::scrub(&e.to_string()).into_owned(),
            })?;
            let output = guarded(T::NAME, input.call(state)).await?;
            serde_json::to_value(output)
                .map_err(|e| CallError::InvalidOutput { tool: tool(), reason: e.to_string() })
        })
    }
}

/// A tool's call with its panic caught and its error scrubbed of secrets, named `tool`.
async fn guarded<T>(tool: &str, call: impl Future<Output = Result<T, ToolError>>) -> Result<T, CallError> {
    AssertUnwindSafe(call)
        .catch_unwind()
        .await
        .map_err(|panic| CallError::Panicked {
            tool: tool.to_owned(),
            message: crate::exec::panic_message(&*panic),
        })?
        .map_err(|source| CallError::Tool { tool: tool.to_owned(), source: source.scrubbed() })
}

/// A tool known only at run time (a tool of an MCP server, say): called with JSON arguments,
/// answering JSON. Registered with [`ToolRegistry::register_dyn`] beside its definition.
pub trait DynTool: Send + Sync {
    /// Calls the tool.
    fn call(&self, args: Value) -> BoxFuture<'_, Result<Value, ToolError>>;
}

struct Dynamic {
    definition: ToolDefinition,
    hints: Hints,
    tool: std::sync::Arc<dyn DynTool>,
}

/// What a tool registered at run time says of its effects (MCP's tool annotations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// Calling it twice with the same arguments does what calling it once does.
    pub idempotent: bool,
    /// It changes nothing, only reads.
    pub read_only: bool,
}

impl<S: Sync> ErasedTool<S> for Dynamic {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn idempotent(&self) -> bool {
        self.hints.idempotent || self.hints.read_only
    }

    fn read_only(&self) -> bool {
        self.hints.read_only
    }

    fn call<'a>(&'a self, _state: &'a S, args: Value) -> BoxFuture<'a, Result<Value, CallError>> {
        Box::pin(guarded(&self.definition.name, self.tool.call(args)))
    }
}

/// Tools by name, callable with JSON arguments, sharing one state `S`.
///
/// ```
/// use workflow::prelude::*;
///
/// /// Add two numbers.
/// #[tool]
/// async fn add(a: i64, b: i64) -> Result<i64, ToolError> { Ok(a + b) }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut tools = ToolRegistry::new(());
/// tools.register::<add>()?;
/// let sum = tools.call("add", serde_json::json!({ "a": 2, "b": 3 })).await?;
/// assert_eq!(sum, 5);
/// assert_eq!(tools.definition("add").unwrap().description, "Add two numbers.");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct ToolRegistry<S = ()> {
    state: S,
    tools: BTreeMap<String, Box<dyn ErasedTool<S>>>,
}

impl<S: Send + Sync + 'static> ToolRegistry<S> {
    /// An empty registry whose tools share `state`.
    pub fn new(state: S) -> Self {
        Self { state, tools: BTreeMap::new() }
    }

    /// Adds the tool `T` (the struct `#[tool]` generates, named after the function).
    pub fn register<T: CallTool<S>>(&mut self) -> Result<&mut Self, DuplicateTool> {
        if self.tools.contains_key(T::NAME) {
            return Err(DuplicateTool(T::NAME.to_owned()));
        }
        let erased = Erased::<T> { definition: T::definition(), tool: PhantomData };
        self.tools.insert(T::NAME.to_owned(), Box::new(erased));
        Ok(self)
    }

    /// Adds a tool known only at run time, under its definition's name: its arguments are
    /// passed as they come (the tool checks them), its output is taken as it is. `hints` say
    /// whether a resumed run may call it again after an unrecorded end (idempotent, or read
    /// only), and what a served workflow's annotations say.
    pub fn register_dyn(
        &mut self,
        definition: ToolDefinition,
        hints: Hints,
        tool: std::sync::Arc<dyn DynTool>,
    ) -> Result<&mut Self, DuplicateTool> {
        if self.tools.contains_key(&definition.name) {
            return Err(DuplicateTool(definition.name));
        }
        let name = definition.name.clone();
        self.tools.insert(name, Box::new(Dynamic { definition, hints, tool }));
        Ok(self)
    }

    /// Whether the tool `name` only reads (`#[tool(read_only = true)]`, or its hints).
    pub fn read_only(&self, name: &str) -> bool {
        self.tools.get(name).is_some_and(|tool| tool.read_only())
    }

    /// The definition of the tool called `name`.
    pub fn definition(&self, name: &str) -> Option<&ToolDefinition> {
        self.tools.get(name).map(|t| t.definition())
    }

    /// Every tool's definition, by name.
    pub fn definitions(&self) -> impl Iterator<Item = &ToolDefinition> {
        self.tools.values().map(|t| t.definition())
    }

    /// The shared state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Calls the tool `name` with JSON arguments and returns its output as JSON.
    pub async fn call(&self, name: &str, args: Value) -> Result<Value, CallError> {
        match self.tools.get(name) {
            Some(tool) => tool.call(&self.state, args).await,
            None => Err(self.unknown(name)),
        }
    }

    fn unknown(&self, name: &str) -> CallError {
        CallError::UnknownTool {
            name: name.to_owned(),
            suggestion: closest(name, self.tools.keys().map(String::as_str)).map(str::to_owned),
        }
    }
}

impl<S: Send + Sync + 'static> Toolbox for ToolRegistry<S> {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, CallError>> {
        match self.tools.get(name) {
            // The tool's own boxed future, not a second box around it.
            Some(tool) => tool.call(&self.state, args),
            None => Box::pin(std::future::ready(Err(self.unknown(name)))),
        }
    }

    fn definition(&self, name: &str) -> Option<&ToolDefinition> {
        ToolRegistry::definition(self, name)
    }

    fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    fn idempotent(&self, name: &str) -> bool {
        self.tools.get(name).is_none_or(|tool| tool.idempotent())
    }
}

impl<S> std::fmt::Debug for ToolRegistry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry").field("tools", &self.tools.keys().collect::<Vec<_>>()).finish()
    }
}

pub use workflow_core::suggest::closest;
