//! A pattern as a workflow: the shared model, printed as `workflow!` source by
//! `workflow_core::print` and converted to a [`WorkflowTemplate`] by the runtime's conversion.

use serde_json::Value;
use workflow_core::ast::{Literal, Path};
use workflow_core::model::{self, Arg, Input, Name, Ref, RustExpr, Step, Workflow};
use workflow_core::print::PrintError;
use workflow_runtime::WorkflowTemplate;

use crate::detect::Pattern;
use crate::flow::{Bound, identifier};

impl Pattern {
    /// The workflow in the shared model. Every input is a `serde_json::Value` (a tool known only
    /// from logs has no declared types); each step `depends` on the steps of the level before
    /// it that it does not already read from, so the levels are those of [`Pattern::levels`].
    pub fn workflow(&self) -> Workflow<()> {
        self.model(false)
    }

    /// The workflow as `workflow!` source: a doc comment with the support, success rate, score
    /// and an example session, then `name(inputs) { steps }`. References read fields of
    /// `serde_json::Value` outputs (`<<get_user_details.orders[0].order_id>>`); a literal list,
    /// object or `null` is written `{ serde_json::json!(…) }`.
    pub fn dsl(&self) -> Result<String, PrintError> {
        workflow_core::print::workflow(&self.model(true))
    }

    /// The workflow as a run-time template: a reference is `"{{step.path}}"`, an input
    /// `"{{name}}"`, a literal its JSON value; `metadata` holds `support`, `success_rate`,
    /// `score` and `example_session`, and each step's `tool_name` is the tool as logged.
    pub fn template(&self) -> WorkflowTemplate {
        let mut template = workflow_runtime::dsl::to_template(&self.model(false));
        for (step, mined) in template.steps.iter_mut().zip(&self.steps) {
            step.tool_name = mined.tool.clone();
        }
        let meta = &mut template.metadata;
        meta.insert("support".into(), self.support.into());
        meta.insert("success_rate".into(), self.success_rate.into());
        meta.insert("score".into(), self.score.into());
        meta.insert("example_session".into(), self.example_session.clone().into());
        template
    }

    fn doc(&self) -> String {
        format!(
            "Mined chain: {}.\nSupport {} sessions, success rate {:.1} %, score {:.1}.\nExample session: `{}`.",
            self.tools.join(" -> "),
            self.support,
            100.0 * self.success_rate,
            self.score,
            self.example_session
        )
    }

    /// The model; `for_dsl` writes the literals that DSL text cannot hold as Rust expressions.
    fn model(&self, for_dsl: bool) -> Workflow<()> {
        let name = |text: &str| Name::new(text.to_owned(), ());
        let level_of = |k: usize| self.levels.iter().position(|l| l.contains(&k)).unwrap_or(0);
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let args: Vec<Arg<()>> = s
                    .args
                    .iter()
                    .map(|(arg, b)| {
                        let arg = if for_dsl { identifier(arg) } else { arg.clone() };
                        Arg { name: name(&arg), value: self.value(&b.bound, for_dsl) }
                    })
                    .collect();
                let reads: Vec<usize> = s
                    .args
                    .iter()
                    .filter_map(|(_, b)| match b.bound {
                        Bound::Ref { step, .. } => Some(step),
                        _ => None,
                    })
                    .collect();
                let level = level_of(k);
                let depends = match level.checked_sub(1).and_then(|l| self.levels.get(l)) {
                    Some(before) => before
                        .iter()
                        .filter(|j| !reads.contains(j))
                        .map(|&j| name(&self.steps[j].id))
                        .collect(),
                    None => Vec::new(),
                };
                Step {
                    id: name(&s.id),
                    tool: name(&identifier(&s.tool)),
                    args,
                    depends,
                    condition: None,
                    retry: None,
                    timeout: None,
                    deadline: None,
                    on_error: None,
                    fallback: None,
                    compensate: None,
                    after: None,
                    for_each: None,
                }
            })
            .collect();
        Workflow {
            name: name(&self.name),
            doc: self.doc(),
            inputs: Some(self.inputs.iter().map(|i| Input { name: name(i), ty: None }).collect()),
            steps,
        }
    }

    fn value(&self, bound: &Bound, for_dsl: bool) -> model::Value<()> {
        let reference = |root: &str, segments: Vec<_>| {
            model::Value::Ref(Ref {
                path: Path { root: root.to_owned(), segments, span: Default::default() },
                span: (),
            })
        };
        match bound {
            Bound::Ref { step, path } => reference(&self.steps[*step].id, path.clone()),
            Bound::Input(name) => reference(name, Vec::new()),
            Bound::Literal(v @ (Value::Null | Value::Array(_) | Value::Object(_))) if for_dsl => {
                let source = format!("serde_json::json!({v})");
                model::Value::Rust(RustExpr { source, refs: Vec::new(), span: () })
            }
            Bound::Literal(v) => json_value(v),
        }
    }
}

/// A JSON value as a model value with nothing to evaluate.
fn json_value(value: &Value) -> model::Value<()> {
    match value {
        Value::Null => model::Value::Literal(Literal::Null),
        Value::Bool(b) => model::Value::Literal(Literal::Bool(*b)),
        Value::Number(n) => model::Value::Literal(Literal::Number(n.to_string())),
        Value::String(s) => model::Value::Literal(Literal::Str(s.clone())),
        Value::Array(items) => model::Value::List(items.iter().map(json_value).collect()),
        Value::Object(map) => {
            model::Value::Object(map.iter().map(|(k, v)| (k.clone(), json_value(v))).collect())
        }
    }
}

/// `library.cache_pattern(&pattern)`: a mined pattern kept in a
/// [`WorkflowLibrary`](workflow_runtime::WorkflowLibrary), where
/// [`suggest`](workflow_runtime::WorkflowLibrary::suggest) finds it among the registered
/// workflows.
pub trait CachePattern {
    /// Adds the pattern's [`template`](Pattern::template) with its support, success rate and
    /// score, replacing the same pattern mined before, never a registered workflow.
    fn cache_pattern(
        &mut self,
        pattern: &Pattern,
    ) -> Result<&workflow_runtime::library::Entry, workflow_runtime::library::LibraryError>;
}

impl CachePattern for workflow_runtime::WorkflowLibrary {
    fn cache_pattern(
        &mut self,
        pattern: &Pattern,
    ) -> Result<&workflow_runtime::library::Entry, workflow_runtime::library::LibraryError> {
        let origin = workflow_runtime::library::Origin::Mined {
            support: pattern.support,
            success_rate: pattern.success_rate,
            score: pattern.score,
            example_session: pattern.example_session.clone(),
        };
        self.cache(pattern.template(), origin)
    }
}
