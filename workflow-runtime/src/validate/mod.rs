//! Checks a [`WorkflowTemplate`] with the rules `workflow!` applies at compile time, reporting
//! every problem at once, each with its step, parameter and position.
//!
//! Rules: unique step ids; templates and conditions parse; every reference names an input or a
//! step (with a "did you mean"); no step refers to itself; `depends_on` names other steps; no
//! dependency cycle (the whole cycle is named); with a tool catalogue: every tool exists, every
//! parameter is one the tool takes and every required one is given, literal arguments have the
//! JSON type the tool's schema asks for, and references into a step's output name fields its
//! output schema has.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::definition::{WorkflowStep, WorkflowTemplate};
use crate::registry::closest;
use crate::template::ast::{Expr, Path, Segment, Template};
use crate::template::{ParseError, condition, template};

mod problem;
mod source;

use crate::tool::ToolDefinition;
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

/// A parameter value with its templates parsed.
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
    /// Step indices by level.
    pub levels: Vec<Vec<usize>>,
    /// For each step, the steps it needs, ascending.
    pub needs: Vec<Vec<usize>>,
    /// For each step, its parameters.
    pub parameters: Vec<Parameters>,
    /// For each step, its condition.
    pub conditions: Vec<Option<Expr>>,
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
    let mut problems = Vec::new();
    let index = check_unique_ids(workflow, &mut problems);
    let (parameters, conditions) = parse_templates(workflow, &mut problems);
    let needs = check_references(workflow, &index, &parameters, &conditions, &mut problems);
    check_policies(workflow, &mut problems);
    if let Some(catalog) = catalog {
        check_tools(workflow, catalog, &parameters, &mut problems);
        check_output_fields(workflow, catalog, &index, &parameters, &conditions, &mut problems);
    }
    let levels = check_cycles(workflow, &needs, &mut problems);
    if problems.is_empty() {
        Ok(Plan { levels, needs, parameters, conditions })
    } else {
        Err(Problems(problems))
    }
}

// Step ids are unique: a reference names exactly one step.
fn check_unique_ids(workflow: &WorkflowTemplate, problems: &mut Vec<Problem>) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, step) in workflow.steps.iter().enumerate() {
        if index.insert(step.step_id.clone(), i).is_some() {
            problems.push(Problem::new(
                Some(&step.step_id),
                None,
                format!("duplicate step id `{}`", step.step_id),
            ));
        }
    }
    index
}

// Every template and condition parses.
fn parse_templates(
    workflow: &WorkflowTemplate,
    problems: &mut Vec<Problem>,
) -> (Vec<Parameters>, Vec<Option<Expr>>) {
    let mut parameters = Vec::new();
    let mut conditions = Vec::new();
    for step in &workflow.steps {
        let mut compiled = Vec::new();
        for (name, value) in &step.parameters {
            match compile(value) {
                Ok(c) => compiled.push((name.clone(), c)),
                Err((text, err)) => problems.push(
                    Problem::new(Some(&step.step_id), Some(name), err.message.clone())
                        .in_text(&text, (err.offset, err.offset + 1)),
                ),
            }
        }
        parameters.push(compiled);
        conditions.push(step.condition.as_ref().and_then(|text| match condition(text) {
            Ok(expr) => Some(expr),
            Err(err) => {
                problems.push(
                    Problem::new(Some(&step.step_id), Some("condition"), err.message.clone())
                        .in_text(text, (err.offset, err.offset + 1)),
                );
                None
            }
        }));
    }
    (parameters, conditions)
}

/// Parses the templates in a parameter value.
pub fn compile(value: &Value) -> Result<Compiled, (String, ParseError)> {
    Ok(match value {
        Value::String(s) if s.contains("{{") => Compiled::Template(template(s).map_err(|e| (s.clone(), e))?),
        Value::Array(items) if contains_template(value) => {
            Compiled::List(items.iter().map(compile).collect::<Result<_, _>>()?)
        }
        Value::Object(map) if contains_template(value) => Compiled::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), compile(v)?)))
                .collect::<Result<_, (String, ParseError)>>()?,
        ),
        other => Compiled::Literal(other.clone()),
    })
}

fn contains_template(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(contains_template),
        Value::Object(map) => map.values().any(contains_template),
        _ => false,
    }
}

/// Every path in a compiled value, with the template text it is in.
fn paths_in<'a>(compiled: &'a Compiled, out: &mut Vec<(&'a Path, &'a Template)>) {
    match compiled {
        Compiled::Literal(_) => {}
        Compiled::Template(t) => out.extend(t.paths().into_iter().map(|p| (p, t))),
        Compiled::List(items) => items.iter().for_each(|c| paths_in(c, out)),
        Compiled::Object(fields) => fields.iter().for_each(|(_, c)| paths_in(c, out)),
    }
}

/// Every path a step reads, with the parameter (or `condition`) it is in.
fn step_refs<'a>(parameters: &'a Parameters, condition: Option<&'a Expr>) -> Vec<(&'a str, &'a Path)> {
    let mut refs = Vec::new();
    for (name, compiled) in parameters {
        let mut paths = Vec::new();
        paths_in(compiled, &mut paths);
        refs.extend(paths.into_iter().map(|(p, _)| (name.as_str(), p)));
    }
    if let Some(expr) = condition {
        refs.extend(expr.paths().into_iter().map(|p| ("condition", p)));
    }
    refs
}

/// The source text of a template, rebuilt for positions in messages.
fn source_of(step: &WorkflowStep, parameter: &str) -> String {
    match step.parameters.get(parameter) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => step.condition.clone().unwrap_or_default(),
    }
}

// Every reference names a declared input or another step; `depends_on` names other steps.
fn check_references(
    workflow: &WorkflowTemplate,
    index: &HashMap<String, usize>,
    parameters: &[Parameters],
    conditions: &[Option<Expr>],
    problems: &mut Vec<Problem>,
) -> Vec<Vec<usize>> {
    let inputs: Vec<&str> = workflow.inputs.iter().map(|i| i.name.as_str()).collect();
    let steps: Vec<&str> = workflow.steps.iter().map(|s| s.step_id.as_str()).collect();
    let mut needs = Vec::new();
    for (i, step) in workflow.steps.iter().enumerate() {
        let mut mine = BTreeSet::new();
        let refs = step_refs(&parameters[i], conditions[i].as_ref());
        for (parameter, path) in refs {
            let at = |message: String| {
                Problem::new(Some(&step.step_id), Some(parameter), message)
                    .in_text(&source_of(step, parameter), (path.span.start, path.span.end))
            };
            match index.get(&path.root) {
                Some(&j) if j == i => problems.push(at(format!(
                    "step `{}` refers to its own output; a step can use inputs and other steps only",
                    step.step_id
                ))),
                Some(&j) => {
                    mine.insert(j);
                }
                None if inputs.is_empty() || inputs.contains(&path.root.as_str()) => {}
                None => {
                    let hint = closest(&path.root, inputs.iter().chain(&steps).copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    problems.push(at(format!("unknown step or input `{}`{hint}", path.root)));
                }
            }
        }
        for dep in &step.depends_on {
            match index.get(dep) {
                Some(&j) if j == i => problems.push(Problem::new(
                    Some(&step.step_id),
                    Some("depends_on"),
                    format!("step `{dep}` depends on itself"),
                )),
                Some(&j) => {
                    mine.insert(j);
                }
                None => {
                    let hint = closest(dep, steps.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_else(|| format!("; the steps are {}", list(&steps)));
                    problems.push(Problem::new(
                        Some(&step.step_id),
                        Some("depends_on"),
                        format!("`depends_on` names unknown step `{dep}`{hint}"),
                    ));
                }
            }
        }
        needs.push(mine.into_iter().collect());
    }
    needs
}

// Retry counts are small; timeouts and backoffs are positive.
fn check_policies(workflow: &WorkflowTemplate, problems: &mut Vec<Problem>) {
    for step in &workflow.steps {
        let id = Some(step.step_id.as_str());
        if step.retry_count > 100 {
            problems.push(Problem::new(
                id,
                Some("retry_count"),
                format!("retry count {} is above 100", step.retry_count),
            ));
        }
        for (name, value) in
            [("timeout_seconds", step.timeout_seconds), ("backoff_seconds", step.backoff_seconds)]
        {
            if value.is_some_and(|v| !v.is_finite() || v <= 0.0 || v > 1e9) {
                problems.push(Problem::new(
                    id,
                    Some(name),
                    format!("`{name}` must be a positive number of seconds"),
                ));
            }
        }
    }
}

// With a catalogue: tools exist, parameters are the tool's, required ones are given, literals
// have the schema's JSON type.
fn check_tools(
    workflow: &WorkflowTemplate,
    catalog: &dyn Catalog,
    parameters: &[Parameters],
    problems: &mut Vec<Problem>,
) {
    for (i, step) in workflow.steps.iter().enumerate() {
        let id = Some(step.step_id.as_str());
        let Some(tool) = catalog.tool(&step.tool_name) else {
            let hint = closest(&step.tool_name, catalog.tool_names())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            problems.push(Problem::new(
                id,
                Some("tool_name"),
                format!("unknown tool `{}`{hint}", step.tool_name),
            ));
            continue;
        };
        let schema = tool.input_schema.as_value();
        let properties = schema.get("properties").and_then(Value::as_object);
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, compiled) in &parameters[i] {
            match properties.and_then(|p| p.get(name)) {
                None if closed => {
                    let names = properties
                        .map(|p| p.keys().map(String::as_str).collect::<Vec<_>>())
                        .unwrap_or_default();
                    let hint = closest(name, names.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_else(|| format!("; it takes {}", list(&names)));
                    problems.push(Problem::new(
                        id,
                        Some(name),
                        format!("tool `{}` has no parameter `{name}`{hint}", step.tool_name),
                    ));
                }
                Some(expected) => {
                    if let Compiled::Literal(value) = compiled {
                        if let Some(want) = type_mismatch(expected, value) {
                            problems.push(Problem::new(
                                id,
                                Some(name),
                                format!("expected {want}, found {}", crate::template::eval::kind(value)),
                            ));
                        }
                    }
                }
                None => {}
            }
        }
        let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        for name in required.iter().filter_map(Value::as_str) {
            if !step.parameters.contains_key(name) {
                problems.push(Problem::new(
                    id,
                    Some(name),
                    format!("missing parameter `{name}` of tool `{}`", step.tool_name),
                ));
            }
        }
    }
}

/// `` `a`, `b` ``, each name once.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "no parameters".to_owned();
    }
    let mut seen = std::collections::HashSet::new();
    names.iter().filter(|n| seen.insert(**n)).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The JSON type a schema asks for, when `value` is not of it.
fn type_mismatch(schema: &Value, value: &Value) -> Option<String> {
    let types: Vec<&str> = match schema.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let ok = types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    });
    (!ok).then(|| {
        let names: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "integer" => "an integer".to_owned(),
                "array" => "a list".to_owned(),
                "object" | "integer " => format!("an {t}"),
                other => format!("a {other}"),
            })
            .collect();
        names.join(" or ")
    })
}

// With a catalogue: a reference into a step's output names fields the output schema has.
fn check_output_fields(
    workflow: &WorkflowTemplate,
    catalog: &dyn Catalog,
    index: &HashMap<String, usize>,
    parameters: &[Parameters],
    conditions: &[Option<Expr>],
    problems: &mut Vec<Problem>,
) {
    for (i, step) in workflow.steps.iter().enumerate() {
        let refs = step_refs(&parameters[i], conditions[i].as_ref());
        for (parameter, path) in refs {
            let Some(&j) = index.get(&path.root) else { continue };
            let Some(tool) = catalog.tool(&workflow.steps[j].tool_name) else { continue };
            if let Err(message) = walk_schema(tool.output_schema.as_value(), &path.root, &path.segments) {
                problems.push(
                    Problem::new(Some(&step.step_id), Some(parameter), message)
                        .in_text(&source_of(step, parameter), (path.span.start, path.span.end)),
                );
            }
        }
    }
}

/// Follows `segments` through an output schema; `Err` names the first segment it lacks.
fn walk_schema(root: &Value, name: &str, segments: &[Segment]) -> Result<(), String> {
    let defs = root.get("$defs").and_then(Value::as_object);
    let mut schema = root;
    let mut walked = name.to_owned();
    for segment in segments {
        schema = deref(schema, defs);
        let object = match schema {
            Value::Object(o) => o,
            _ => return Ok(()), // `true`: anything goes
        };
        let ty = object.get("type").and_then(Value::as_str);
        match segment {
            Segment::Field(field) | Segment::Key(field) => {
                let Some(properties) = object.get("properties").and_then(Value::as_object) else {
                    return match ty {
                        Some("object") | None => Ok(()),
                        Some(other) => Err(format!(
                            "`{walked}` is a {other}, not an object, so it has no field `{field}`"
                        )),
                    };
                };
                match properties.get(field) {
                    Some(next) => schema = next,
                    None if object.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) => {
                        return Ok(());
                    }
                    None => {
                        let hint = closest(field, properties.keys().map(String::as_str))
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_else(|| {
                                let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                                format!("; its fields are {}", list(&names))
                            });
                        return Err(format!("`{walked}` has no field `{field}`{hint}"));
                    }
                }
                walked.push('.');
                walked.push_str(field);
            }
            Segment::Index(i) => {
                match (ty, object.get("items")) {
                    (_, Some(items)) => schema = items,
                    (Some("array"), None) | (None, None) => return Ok(()),
                    (Some(other), None) => {
                        return Err(format!(
                            "`{walked}` is a {other}, not a list, so `[{i}]` cannot index it"
                        ));
                    }
                }
                walked.push_str(&format!("[{i}]"));
            }
        }
    }
    Ok(())
}

/// Resolves a `$ref` into `$defs`, and a nullable `anyOf` to its non-null branch.
fn deref<'a>(schema: &'a Value, defs: Option<&'a serde_json::Map<String, Value>>) -> &'a Value {
    let mut schema = schema;
    for _ in 0..8 {
        if let Some(name) =
            schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
        {
            match defs.and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => return schema,
            }
        } else if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
            match alts.iter().find(|a| a.get("type") != Some(&Value::String("null".into()))) {
                Some(alt) => schema = alt,
                None => return schema,
            }
        } else {
            return schema;
        }
    }
    schema
}

// The steps form a DAG: no step needs a step that needs it. Returns the levels.
fn check_cycles(
    workflow: &WorkflowTemplate,
    needs: &[Vec<usize>],
    problems: &mut Vec<Problem>,
) -> Vec<Vec<usize>> {
    let n = needs.len();
    let mut waiting: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut users = vec![Vec::new(); n];
    for (i, ns) in needs.iter().enumerate() {
        for &d in ns {
            users[d].push(i);
        }
    }
    let mut level = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &u in &users[i] {
            level[u] = level[u].max(level[i] + 1);
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.push(u);
            }
        }
    }
    if done < n {
        for cycle in cycles(needs, &waiting) {
            let names: Vec<String> =
                cycle.iter().map(|&i| format!("`{}`", workflow.steps[i].step_id)).collect();
            problems.push(Problem::new(
                Some(&workflow.steps[cycle[0]].step_id),
                None,
                format!(
                    "dependency cycle: {} -> {} (each step needs the next)",
                    names.join(" -> "),
                    names[0]
                ),
            ));
        }
        return Vec::new();
    }
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let mut levels: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in level.iter().enumerate() {
        levels[l].push(i);
    }
    levels
}

/// The distinct cycles among the steps left waiting (an iterative depth-first search, so a
/// workflow of any length cannot exhaust the stack).
fn cycles(needs: &[Vec<usize>], waiting: &[usize]) -> Vec<Vec<usize>> {
    let mut found: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    let mut state = vec![0u8; needs.len()]; // 0 new, 1 on the path, 2 done
    for start in (0..needs.len()).filter(|&i| waiting[i] > 0) {
        if state[start] != 0 {
            continue;
        }
        // The path from `start`, each node with the index of the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut edge)) = path.last_mut() {
            match needs[node].get(*edge).copied() {
                Some(next) => {
                    *edge += 1;
                    match state[next] {
                        0 => {
                            state[next] = 1;
                            path.push((next, 0));
                        }
                        1 => {
                            if let Some(pos) = path.iter().position(|&(n, _)| n == next) {
                                let cycle: Vec<usize> = path[pos..].iter().map(|&(n, _)| n).collect();
                                let mut key = cycle.clone();
                                key.sort_unstable();
                                found.entry(key).or_insert(cycle);
                            }
                        }
                        _ => {}
                    }
                }
                None => {
                    state[node] = 2;
                    path.pop();
                }
            }
        }
    }
    found.into_values().collect()
}
