//! [`WorkflowContext`]: what a run knows: inputs and variables, step results, shared data.

use serde_json::{Map, Value};

use crate::template::{Limits, Scope, render, template};

/// The values a run's templates are evaluated against.
///
/// Names are looked up in `variables` (the workflow's inputs), then `step_results`, then
/// `shared_data`. Intermediate results stay here instead of going back through a model.
///
/// ```
/// use serde_json::json;
/// use workflow::WorkflowContext;
///
/// let mut ctx = WorkflowContext::new();
/// ctx.set_result("create_pr", json!({ "url": "https://github.com/repo/pulls/1" }));
/// assert_eq!(ctx.substitute("PR created: {{create_pr.url}}")?, "PR created: https://github.com/repo/pulls/1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkflowContext {
    /// Data shared by every step that is neither an input nor a result.
    pub shared_data: Map<String, Value>,
    /// Each finished step's output, by step id.
    pub step_results: Map<String, Value>,
    /// The workflow's inputs and other named values.
    pub variables: Map<String, Value>,
}

/// A template that could not be parsed or evaluated by [`WorkflowContext::substitute`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// The template does not parse.
    #[error(transparent)]
    Parse(#[from] crate::template::ParseError),
    /// The template could not be evaluated.
    #[error(transparent)]
    Eval(#[from] crate::template::EvalError),
}

impl WorkflowContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context whose variables are `inputs` (a JSON object; anything else gives no variables).
    pub fn with_inputs(inputs: Value) -> Self {
        let variables = match inputs {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { variables, ..Self::default() }
    }

    /// Stores a step's output.
    pub fn set_result(&mut self, step_id: impl Into<String>, result: Value) {
        self.step_results.insert(step_id.into(), result);
    }

    /// A step's output.
    pub fn get_result(&self, step_id: &str) -> Option<&Value> {
        self.step_results.get(step_id)
    }

    /// Sets a shared value.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        self.shared_data.insert(key.into(), value);
    }

    /// A value by name: a variable, a step result or shared data.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.lookup(key)
    }

    /// Renders a template against the context: a lone `{{…}}` gives its typed value, anything
    /// else a string.
    pub fn substitute(&self, text: &str) -> Result<Value, SubstituteError> {
        Ok(render(&template(text)?, self, Limits::default())?)
    }
}

impl Scope for WorkflowContext {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.variables
            .get(name)
            .or_else(|| self.step_results.get(name))
            .or_else(|| self.shared_data.get(name))
    }

    fn names(&self) -> Vec<&str> {
        self.variables
            .keys()
            .chain(self.step_results.keys())
            .chain(self.shared_data.keys())
            .map(String::as_str)
            .collect()
    }
}
