//! [`Toolbox`]: tools called by name with JSON, as the run-time executor calls them.

use serde_json::Value;

pub use futures::future::BoxFuture;

use crate::registry::CallError;
use crate::tool::ToolDefinition;
use crate::validate::Catalog;

/// Tools that can be called by name with JSON arguments: what a run-time workflow's steps call.
///
/// A [`ToolRegistry`](crate::ToolRegistry) is one; a client of a remote tool server (an MCP
/// server) is another. The executor validates a workflow against [`definition`] and
/// [`names`], then calls [`call`] once per attempt of each step.
///
/// ```
/// use serde_json::{Value, json};
/// use workflow::toolbox::BoxFuture;
/// use workflow::{CallError, ToolDefinition, Toolbox};
///
/// /// One tool, `echo`, answered without a registry.
/// struct Echo(ToolDefinition);
///
/// impl Toolbox for Echo {
///     fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, CallError>> {
///         Box::pin(async move {
///             match name {
///                 "echo" => Ok(args["text"].clone()),
///                 _ => Err(CallError::UnknownTool { name: name.to_owned(), suggestion: None }),
///             }
///         })
///     }
///     fn definition(&self, name: &str) -> Option<&ToolDefinition> {
///         (name == "echo").then_some(&self.0)
///     }
///     fn names(&self) -> Vec<&str> {
///         vec!["echo"]
///     }
/// }
/// ```
///
/// [`call`]: Toolbox::call
/// [`definition`]: Toolbox::definition
/// [`names`]: Toolbox::names
pub trait Toolbox: Send + Sync {
    /// Calls the tool `name` with JSON arguments, returning its output as JSON.
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, CallError>>;

    /// The definition (description and schemas) of the tool called `name`.
    fn definition(&self, name: &str) -> Option<&ToolDefinition>;

    /// Every tool's name.
    fn names(&self) -> Vec<&str>;

    /// Whether calling the tool `name` twice with the same arguments does what calling it once
    /// does ([`Tool::IDEMPOTENT`](crate::Tool::IDEMPOTENT)): a resumed run calls again a step
    /// whose end was not journaled only if it is. `true` unless the toolbox says otherwise.
    fn idempotent(&self, name: &str) -> bool {
        let _ = name;
        true
    }
}

/// A toolbox seen as the validator's catalogue of tools.
pub(crate) struct ToolboxCatalog<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Toolbox + ?Sized> Catalog for ToolboxCatalog<'_, T> {
    fn tool(&self, name: &str) -> Option<&ToolDefinition> {
        self.0.definition(name)
    }

    fn tool_names(&self) -> Vec<&str> {
        self.0.names()
    }
}
