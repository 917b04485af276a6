//! Workflows as data: [`WorkflowTemplate`] and [`WorkflowStep`], readable from JSON and YAML.
//!
//! A model, a user or the pattern miner writes these while the program runs; they are checked
//! by [`validate`](crate::validate) with the same rules as `workflow!` and run by
//! [`WorkflowExecutor`](crate::WorkflowExecutor).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A reusable workflow: named steps that call tools, with their dependencies.
///
/// ```
/// use workflow::WorkflowTemplate;
///
/// let template: WorkflowTemplate = serde_json::from_str(r#"{
///     "name": "github_pr_workflow",
///     "description": "Create PR and notify team",
///     "steps": [
///         { "step_id": "list_issues", "tool_name": "github_list_issues",
///           "parameters": { "repo": "{{repo}}" } },
///         { "step_id": "create_pr", "tool_name": "github_create_pr",
///           "depends_on": ["list_issues"],
///           "parameters": { "repo": "{{repo}}", "title": "{{pr_title}}",
///                           "body": "Fixes {{list_issues.issues[0].number}}" } }
///     ]
/// }"#)?;
/// assert_eq!(template.levels()?, vec![vec!["list_issues"], vec!["create_pr"]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowTemplate {
    /// The workflow's name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The inputs it takes, when declared; references to other names are then errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<WorkflowInput>,
    /// The steps, in the order written.
    pub steps: Vec<WorkflowStep>,
    /// Anything else: category, usage counts, success rate…
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Step ids that may run together, level by level (computed when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_groups: Option<Vec<Vec<String>>>,
}

/// A declared input of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    /// Its name, as referenced by `{{name}}`.
    pub name: String,
    /// Its type as written (`String`, `u64`, …), for documentation and checks.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
}

/// One step: a tool call whose parameters are templates over inputs and earlier results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// The step's id, unique in its workflow.
    pub step_id: String,
    /// The tool it calls.
    pub tool_name: String,
    /// The tool's arguments. Strings are templates (`"Fixes {{list.issues[0].number}}"`); a
    /// string that is one `{{…}}` passes the typed value; other JSON is passed as it is, with the
    /// strings inside it rendered too.
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Steps to run before this one, besides those its parameters refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Run the step only when this expression is true (`"{{s.count}} > 3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// How many times to call again after a retryable failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: u32,
    /// The delay before the first retry, in seconds (2 when absent, as in `workflow!`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_seconds: Option<f64>,
    /// The factor by which each retry's delay grows (2 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_multiplier: Option<f64>,
    /// The longest delay between retries, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<f64>,
    /// Whether to randomise retry delays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub jitter: bool,
    /// The time limit of each attempt, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// The time limit of the whole step, every attempt and wait included, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_seconds: Option<f64>,
    /// The error classes retried (`["timeout", "rate_limited"]`); every retryable error when
    /// empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<String>,
    /// What a failure does: stop the run (the default), go on without this step's output
    /// (`skip`), or call [`fallback`](Self::fallback) instead (`fallback`).
    #[serde(default, skip_serializing_if = "OnError::is_abort")]
    pub on_error: OnError,
    /// With `on_error: fallback`: the call whose output takes the step's place when the step
    /// fails for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<ToolCall>,
    /// The call that undoes the step, when the run fails after the step succeeded (the saga
    /// pattern). It may read the step's own output, `{{step_id.field}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensate: Option<ToolCall>,
    /// Run only after another step ended a given way (`after X failed | always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AfterStep>,
    /// Call the tool once per element of a list (`for item in <<list>> max N tolerate K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// A tool call besides a step's own: its fallback or its compensation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// The tool it calls.
    pub tool_name: String,
    /// The tool's arguments, templates as in [`WorkflowStep::parameters`].
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

/// `for item in <<list>> [max N] [tolerate K]`: a step that calls its tool once per element of a
/// list, its result the list of the calls' results in the order of the elements (`null` for a
/// call that failed, within `tolerate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    /// The loop variable, read as `{{item}}` in the step's parameters.
    pub item: String,
    /// The list: one reference, `{{step.items}}`.
    #[serde(rename = "in")]
    pub list: String,
    /// At most this many calls at once (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The step fails only when more calls than this fail (none may, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerate: Option<u64>,
}

/// `after X failed | always`: a step that runs by how another step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterStep {
    /// The other step's id.
    pub step: String,
    /// How it must have ended.
    pub when: Trigger,
}

/// How the step named by [`AfterStep`] must have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Only if it failed.
    Failed,
    /// However it ended: succeeded, failed or skipped (a `finally`).
    Always,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the run.
    #[default]
    Abort,
    /// Record the failure and go on; the steps that need this one follow their trigger rule.
    Skip,
    /// Call the step's [`fallback`](WorkflowStep::fallback) instead.
    Fallback,
}

impl OnError {
    fn is_abort(&self) -> bool {
        *self == OnError::Abort
    }
}

impl WorkflowStep {
    /// A step calling `tool_name` with no parameters.
    pub fn new(step_id: impl Into<String>, tool_name: impl Into<String>) -> Self {
        Self {
            step_id: step_id.into(),
            tool_name: tool_name.into(),
            parameters: Map::new(),
            depends_on: Vec::new(),
            condition: None,
            retry_count: 0,
            backoff_seconds: None,
            backoff_multiplier: None,
            max_delay_seconds: None,
            jitter: false,
            timeout_seconds: None,
            deadline_seconds: None,
            retry_on: Vec::new(),
            on_error: OnError::Abort,
            fallback: None,
            compensate: None,
            after: None,
            for_each: None,
            metadata: Map::new(),
        }
    }
}

impl WorkflowTemplate {
    /// Reads a template from JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads the workflows of a `workflow!` body written as text (a `.wf` file): the syntax
    /// of `workflow!` without Rust expressions. A syntax error is one [`Problem`] located in
    /// `text`, drawn with its line underlined by the error's `Debug` form.
    ///
    /// [`Problem`]: crate::validate::Problem
    ///
    /// ```
    /// use workflow::WorkflowTemplate;
    ///
    /// let [template] = &WorkflowTemplate::from_dsl(r#"
    ///     /// Greet, then shout.
    ///     greet(name: String) {
    ///         hello = say(text: "Hello, <<name>>");
    ///         loud  = shout(text: <<hello>>) if <<hello>> != "" retry 2 backoff 100ms;
    ///     }
    /// "#)?[..] else { unreachable!() };
    /// assert_eq!(template.steps[0].parameters["text"], "Hello, {{name}}");
    /// assert_eq!(template.steps[1].condition.as_deref(), Some("{{hello}} != ''"));
    /// assert_eq!(template.steps[1].backoff_seconds, Some(0.1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_dsl(text: &str) -> Result<Vec<Self>, crate::validate::Problems> {
        let defs =
            workflow_core::dsl::workflows(text).map_err(|e| crate::validate::Problems::syntax(text, &e))?;
        Ok(defs.iter().map(crate::dsl::to_template).collect())
    }

    /// Reads a template from YAML.
    pub fn from_yaml(text: &str) -> Result<Self, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(text)
    }

    /// The steps grouped by level: each level needs only the levels before it.
    ///
    /// Fails on an unknown step, a template that does not parse, or a cycle; [`validate`](crate::validate)
    /// reports every such problem with its position.
    pub fn levels(&self) -> Result<Vec<Vec<String>>, crate::validate::Problems> {
        let plan = crate::validate::plan(self)?;
        Ok(plan
            .levels()
            .iter()
            .map(|level| level.iter().map(|&i| self.steps[i].step_id.clone()).collect())
            .collect())
    }
}
