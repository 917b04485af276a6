//! Checks a [`WorkflowTemplate`] with the rules `workflow!` applies at compile time (the shared
//! rule book of `workflow_core::validate`), plus what only a tool catalogue can tell, reporting
//! every problem at once, each with its step, parameter and position.
//!
//! Shared rules: at least one step; unique inputs and step ids, and no step named like an input;
//! every reference names an input or another step (with a "did you mean"); `depends_on` names
//! other steps; no dependency cycle (the whole cycle is named); conditions are booleans; retry
//! counts, backoffs, factors, caps and timeouts in range. Here as well: templates and conditions
//! parse; with a tool catalogue, every tool exists, every parameter is one the tool takes and
//! every required one is given, literal arguments have the JSON type the tool's schema asks for,
//! references into a step's output name fields its output schema has, a condition that reads
//! one value reads a boolean, and no argument is a Rust expression (only `workflow!` runs those).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;
use workflow_core::ast::{Expr, Template};
use workflow_core::graph::Graph;
use workflow_core::model::{self, Names, Workflow};
use workflow_core::policy::StepPolicy;
use workflow_core::suggest::{did_you_mean, list};
use workflow_core::validate::{Checked, Problem as CoreProblem};

use crate::definition::WorkflowTemplate;
use crate::dsl::{BadText, Site};
use crate::exec::StepSpec;
use crate::tool::ToolDefinition;

mod inputs;
mod problem;
mod schema;
mod source;

pub use inputs::InputType;
pub(crate) use inputs::check as check_inputs;
pub use problem::{Problem, Problems};
pub use source::validate_source;

/// Where tool definitions come from (a [`ToolRegistry`](crate::ToolRegistry), an MCP server…).
pub trait Catalog {
    /// The definition of the tool called `name`.
    fn tool(&self, name: &str) -> Option<&ToolDefinition>;
    /// Every tool's name.
    fn tool_names(&self) -> Vec<&str>;
}

impl<S: Send + Sync + 'static> Catalog for crate::ToolRegistry<S> {
    fn tool(&self, name: &str) -> Option<&ToolDefinition> {
        self.definition(name)
    }
    fn tool_names(&self) -> Vec<&str> {
        self.definitions().map(|d| d.name.as_str()).collect()
    }
}

/// A parameter value with its templates parsed, as the executor evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    /// JSON with no template in it.
    Literal(Value),
    /// A string template.
    Template(Template),
    /// A list with templates inside.
    List(Vec<Compiled>),
    /// An object with templates inside.
    Object(Vec<(String, Compiled)>),
}

/// A step's parameters, by name, with their templates parsed.
pub type Parameters = Vec<(String, Compiled)>;

/// A checked workflow, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Its graph: needs, levels, steps that may not run.
    pub graph: Graph,
    /// For each step, its retry policy, timeout and `on_error`, defaults filled in.
    pub policies: Vec<StepPolicy>,
    /// For each step, its parameters.
    pub parameters: Vec<Parameters>,
    /// For each step, its condition.
    pub conditions: Vec<Option<Expr>>,
    /// The declared inputs with their types, or `None` when the workflow declares none.
    pub inputs: Option<Vec<(String, InputType)>>,
    /// When no inputs are declared: the names read that are not steps, which a run must supply.
    pub implicit_inputs: Vec<String>,
    /// For each step, what the step driver runs: its id, tool, retry policy and timeout.
    pub specs: Vec<StepSpec>,
    /// Each step's position, by id.
    pub index: HashMap<String, usize>,
    /// For each step with `on_error fallback`: the fallback's tool and parameters.
    pub fallbacks: Vec<Option<(String, Parameters)>>,
    /// For each step with `compensate`: what the step driver runs for the compensation (the
    /// step's id, the compensation's tool, [`COMPENSATION_RETRY`], the step's timeout), and its
    /// parameters.
    ///
    /// [`COMPENSATION_RETRY`]: workflow_core::policy::COMPENSATION_RETRY
    pub compensations: Vec<Option<(StepSpec, Parameters)>>,
    /// For each step with `for item in …`: what it runs over.
    pub for_each: Vec<Option<FanOut>>,
}

/// What a `for item in <<list>> max N tolerate K` step runs over.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    /// The loop variable.
    pub item: String,
    /// The list.
    pub list: Expr,
    /// At most this many calls at once.
    pub max: Option<usize>,
    /// How many failed calls the step tolerates.
    pub tolerate: usize,
}

impl Plan {
    /// Step indices by level.
    pub fn levels(&self) -> &[Vec<usize>] {
        &self.graph.levels
    }
}

/// Checks a workflow without tool definitions (names, references, cycles, syntax).
pub fn plan(workflow: &WorkflowTemplate) -> Result<Plan, Problems> {
    check(workflow, None)
}

/// Checks a workflow, and its tools against `catalog`.
pub fn validate(workflow: &WorkflowTemplate, catalog: &dyn Catalog) -> Result<Plan, Problems> {
    check(workflow, Some(catalog))
}

fn check(workflow: &WorkflowTemplate, catalog: Option<&dyn Catalog>) -> Result<Plan, Problems> {
    let mut bad = Vec::new();
    let model = crate::dsl::model(workflow, &mut bad);
    let text_of = |site: &Site| field_text(workflow, site);
    let mut problems: Vec<Problem> = bad.into_iter().map(|b| parse_problem(workflow, b)).collect();
    match check_model(model, catalog) {
        Ok(checked) if problems.is_empty() => Ok(plan_of(checked)),
        Ok(_) => Err(Problems(problems)),
        Err(found) => {
            problems.extend(found.into_iter().map(|p| to_problem(workflow, p, &text_of)));
            Err(Problems(problems))
        }
    }
}

/// The shared rules, then (with a catalogue) the rules of tools and schemas.
pub(crate) fn check_model(
    model: Workflow<Site>,
    catalog: Option<&dyn Catalog>,
) -> Result<Checked<Site>, Vec<CoreProblem<Site>>> {
    workflow_core::validate::check_with(model, |model, names, problems| {
        if let Some(catalog) = catalog {
            check_runnable(model, problems);
            check_tools(model, catalog, problems);
            check_output_fields(model, names, catalog, problems);
        }
    })
}

/// What the executor needs of a checked workflow.
pub(crate) fn plan_of(checked: Checked<Site>) -> Plan {
    let Checked { workflow, graph, policies, implicit_inputs } = checked;
    let n = workflow.steps.len();
    let (mut parameters, mut conditions) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut specs, mut index) = (Vec::with_capacity(n), HashMap::with_capacity(n));
    let (mut fallbacks, mut compensations) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut for_each = Vec::with_capacity(n);
    let params = |args: Vec<model::Arg<Site>>| -> Parameters {
        args.into_iter().map(|a| (a.name.value, compile(a.value))).collect()
    };
    for (i, (step, policy)) in workflow.steps.into_iter().zip(&policies).enumerate() {
        parameters.push(params(step.args));
        conditions.push(step.condition.and_then(|c| c.expr));
        index.insert(step.id.value.clone(), i);
        fallbacks.push(step.fallback.map(|c| (c.tool.value, params(c.args))));
        for_each.push(step.for_each.map(|f| FanOut {
            item: f.item.value,
            list: Expr::Path(f.list.path),
            max: f.max.map(|m| usize::try_from(m.value).unwrap_or(usize::MAX)),
            tolerate: f.tolerate.map_or(0, |t| usize::try_from(t.value).unwrap_or(usize::MAX)),
        }));
        compensations.push(step.compensate.map(|c| {
            let spec = StepSpec {
                id: Cow::Owned(step.id.value.clone()),
                tool: Cow::Owned(c.tool.value),
                retry: workflow_core::policy::COMPENSATION_RETRY,
                timeout: policy.timeout,
                deadline: None,
                retry_on: Cow::Borrowed(&[]),
            };
            (spec, params(c.args))
        }));
        specs.push(StepSpec {
            id: Cow::Owned(step.id.value),
            tool: Cow::Owned(step.tool.value),
            retry: policy.retry,
            timeout: policy.timeout,
            deadline: policy.deadline,
            retry_on: policy.retry_on.iter().cloned().map(Cow::Owned).collect(),
        });
    }
    Plan {
        parameters,
        conditions,
        inputs: workflow.inputs.map(|inputs| {
            inputs.into_iter().map(|i| (i.name.value, InputType::parse(i.ty.as_deref()))).collect()
        }),
        implicit_inputs,
        graph,
        policies,
        specs,
        index,
        fallbacks,
        compensations,
        for_each,
    }
}

/// A model value as the executor evaluates it.
fn compile(value: model::Value<Site>) -> Compiled {
    use workflow_core::ast::Part;
    match value {
        model::Value::Ref(r) => Compiled::Template(Template { parts: vec![Part::Expr(Expr::Path(r.path))] }),
        model::Value::Template(t) => Compiled::Template(t.template),
        model::Value::Literal(l) => Compiled::Literal(crate::dsl::literal(&l, false)),
        model::Value::List(items) => {
            let items: Vec<Compiled> = items.into_iter().map(compile).collect();
            match items.iter().map(literal_of).collect::<Option<Vec<Value>>>() {
                Some(values) => Compiled::Literal(Value::Array(values)),
                None => Compiled::List(items),
            }
        }
        model::Value::Object(fields) => {
            let fields: Vec<(String, Compiled)> = fields.into_iter().map(|(k, v)| (k, compile(v))).collect();
            match fields.iter().map(|(k, c)| Some((k.clone(), literal_of(c)?))).collect::<Option<_>>() {
                Some(map) => Compiled::Literal(Value::Object(map)),
                None => Compiled::Object(fields),
            }
        }
        // Rejected by `check_runnable` before a run; kept as its source for `plan`.
        model::Value::Rust(r) => Compiled::Literal(serde_json::json!({ (crate::dsl::RUST_KEY): r.source })),
    }
}

fn literal_of(compiled: &Compiled) -> Option<Value> {
    match compiled {
        Compiled::Literal(v) => Some(v.clone()),
        _ => None,
    }
}

// With a catalogue: no argument or condition is a Rust expression, which only `workflow!` can
// evaluate.
fn check_runnable(workflow: &Workflow<Site>, problems: &mut Vec<CoreProblem<Site>>) {
    for step in &workflow.steps {
        for arg in &step.args {
            if let model::Value::Rust(r) = &arg.value {
                problems.push(CoreProblem {
                    span: r.span.clone(),
                    message: format!(
                        "`{}` is a Rust expression, which only a compiled `workflow!` can evaluate; use a template such as `{{{{step.field}}}}`",
                        r.source
                    ),
                });
            }
        }
        if let Some(c) = step.condition.as_ref().filter(|c| c.expr.is_none()) {
            problems.push(CoreProblem {
                span: c.span.clone(),
                message: format!(
                    "`{}` is a Rust expression, which only a compiled `workflow!` can evaluate",
                    c.source
                ),
            });
        }
    }
}

// With a catalogue: tools exist, parameters are the tool's, required ones are given, literals
// have the schema's JSON type.
fn check_tools(workflow: &Workflow<Site>, catalog: &dyn Catalog, problems: &mut Vec<CoreProblem<Site>>) {
    let mut at = |span: &Site, message: String| problems.push(CoreProblem { span: span.clone(), message });
    // What each tool's schema says, read once per tool however many steps call it.
    let mut shapes: HashMap<*const ToolDefinition, InputShape<'_>> = HashMap::new();
    let calls = workflow.steps.iter().flat_map(|s| {
        let own = std::iter::once((&s.tool, s.args.as_slice()));
        own.chain([&s.fallback, &s.compensate].into_iter().flatten().map(|c| (&c.tool, c.args.as_slice())))
    });
    for (tool_name, args) in calls {
        let Some(tool) = catalog.tool(&tool_name.value) else {
            let hint = did_you_mean(&tool_name.value, catalog.tool_names()).unwrap_or_default();
            at(&tool_name.span, format!("unknown tool `{}`{hint}", tool_name.value));
            continue;
        };
        let &mut InputShape { properties, closed, ref required } =
            shapes.entry(std::ptr::from_ref(tool)).or_insert_with(|| InputShape::of(tool));
        let names = || properties.into_iter().flat_map(|p| p.keys().map(String::as_str));
        for arg in args {
            let name = arg.name.value.as_str();
            match properties.and_then(|p| p.get(name)) {
                None if closed => {
                    let hint = did_you_mean(name, names()).unwrap_or_else(|| match names().next() {
                        Some(_) => format!("; it takes {}", list(names())),
                        None => "; it takes no parameters".to_owned(),
                    });
                    at(&arg.name.span, format!("tool `{}` has no parameter `{name}`{hint}", tool_name.value));
                }
                Some(expected) => {
                    if let model::Value::Literal(l) = &arg.value {
                        let value = crate::dsl::literal(l, false);
                        if let Some(want) = schema::type_mismatch(expected, &value) {
                            let found = crate::template::eval::kind(&value);
                            at(&arg.name.span, format!("expected {want}, found {found}"));
                        }
                    }
                }
                None => {}
            }
        }
        for &name in required {
            if !args.iter().any(|a| a.name.value == name) {
                let mut span = tool_name.span.clone();
                span.field = Some(match span.field.as_deref().and_then(|f| f.strip_suffix("tool_name")) {
                    Some(prefix) => format!("{prefix}{name}").into(),
                    None => name.to_owned().into(),
                });
                at(&span, format!("missing parameter `{name}` of tool `{}`", tool_name.value));
            }
        }
    }
}

/// What `check_tools` reads of a tool's input schema.
struct InputShape<'a> {
    /// Its parameters' schemas.
    properties: Option<&'a serde_json::Map<String, Value>>,
    /// Whether it takes no parameters other than those.
    closed: bool,
    /// The parameters it requires.
    required: Vec<&'a str>,
}

impl<'a> InputShape<'a> {
    fn of(tool: &'a ToolDefinition) -> Self {
        let schema = tool.input_schema.as_value();
        let required = schema.get("required").and_then(Value::as_array).into_iter().flatten();
        InputShape {
            properties: schema.get("properties").and_then(Value::as_object),
            closed: schema.get("additionalProperties") == Some(&Value::Bool(false)),
            required: required.filter_map(Value::as_str).collect(),
        }
    }
}

// With a catalogue: a reference into a step's output names fields the output schema has, and a
// condition that is one reference reads a boolean.
fn check_output_fields(
    workflow: &Workflow<Site>,
    names: &Names<'_>,
    catalog: &dyn Catalog,
    problems: &mut Vec<CoreProblem<Site>>,
) {
    let schema_of = |root: &str| {
        let step = &workflow.steps[names.step(root)?];
        Some(catalog.tool(&step.tool.value)?.output_schema.as_value())
    };
    for step in &workflow.steps {
        for (_, r) in step.refs().chain(step.compensation_refs()) {
            if r.path.has_status_segment() {
                continue; // How a step ended, not its output: checked by the rule book.
            }
            let Some(output) = schema_of(&r.path.root) else { continue };
            if let Err(message) = schema::walk_schema(output, &r.path.root, &r.path.segments) {
                problems.push(CoreProblem { span: r.span.clone(), message });
            }
        }
        if let Some(f) = &step.for_each {
            let found = schema_of(&f.list.path.root)
                .and_then(|output| schema::walk_schema(output, &f.list.path.root, &f.list.path.segments).ok())
                .flatten()
                .and_then(schema::single_type);
            if let Some(ty) = found.filter(|ty| *ty != "array") {
                problems.push(CoreProblem {
                    span: f.list.span.clone(),
                    message: format!(
                        "`for {} in` needs a list, but `{}` is a {ty}",
                        f.item.value, f.list.path
                    ),
                });
            }
        }
        let Some(model::Condition { expr: Some(Expr::Path(path)), span, .. }) = &step.condition else {
            continue;
        };
        let Some(output) = schema_of(&path.root) else { continue };
        if let Ok(Some(found)) = schema::walk_schema(output, &path.root, &path.segments) {
            match schema::single_type(found) {
                Some(ty) if ty != "boolean" => problems.push(CoreProblem {
                    span: span.clone(),
                    message: format!(
                        "a condition must be a boolean, but `{path}` is a {ty}; compare it, e.g. `{{{{{path}}}}} > 0`"
                    ),
                }),
                _ => {}
            }
        }
    }
}

/// The text a site's range is in: a parameter's template, or the condition.
fn field_text(workflow: &WorkflowTemplate, site: &Site) -> String {
    let Some(step) = site.step.and_then(|i| workflow.steps.get(i)) else { return String::new() };
    let call_parameter = |call: &Option<crate::definition::ToolCall>, name: &str| {
        call.as_ref().and_then(|c| c.parameters.get(name)).cloned()
    };
    let parameter = match site.field.as_deref() {
        Some("condition") => return step.condition.clone().unwrap_or_default(),
        Some(field) => match (field.strip_prefix("fallback."), field.strip_prefix("compensate.")) {
            (Some(name), _) => call_parameter(&step.fallback, name),
            (_, Some(name)) => call_parameter(&step.compensate, name),
            _ => step.parameters.get(field).cloned(),
        },
        None => None,
    };
    match parameter {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A rule's problem, with its step and field named and its text to draw.
pub(crate) fn to_problem(
    workflow: &WorkflowTemplate,
    problem: CoreProblem<Site>,
    text_of: &dyn Fn(&Site) -> String,
) -> Problem {
    let site = problem.span;
    let step = site.step.and_then(|i| workflow.steps.get(i)).map(|s| s.step_id.as_str());
    let mut out = Problem::new(step, site.field.as_deref(), problem.message);
    if let Some(range) = site.range {
        out = out.in_text(&text_of(&site), (range.start, range.end));
    }
    out
}

fn parse_problem(workflow: &WorkflowTemplate, bad: BadText) -> Problem {
    let BadText { site, text, error } = bad;
    let step = site.step.and_then(|i| workflow.steps.get(i)).map(|s| s.step_id.as_str());
    Problem::new(step, site.field.as_deref(), error.message.clone())
        .in_text(&text, (error.offset, error.offset + 1))
}
