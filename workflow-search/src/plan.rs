//! Workflows planned from a description: [`Planner`], and [`KeywordPlanner`], which needs no
//! model.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};
use workflow_runtime::{WorkflowInput, WorkflowStep, WorkflowTemplate};

use crate::{ToolIndex, words};

/// A workflow planned from a description.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The workflow, ready for the validator and the executor.
    pub template: WorkflowTemplate,
    /// The same as `workflow!` text, when every tool's name is an identifier (a name such as
    /// `Media.FindMovies` has no `workflow!` spelling; the template still runs it).
    pub dsl: Option<String>,
}

/// Why no workflow was planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No tool matched any part of the description.
    #[error("no tool matches any part of the description `{0}`")]
    NoTool(String),
    /// The planner's model could not be asked, or answered with something that is not a workflow.
    #[error("the planner failed: {0}")]
    Planner(String),
}

/// Plans a workflow from a natural-language description, with the tools of an index.
pub trait Planner: Send + Sync {
    /// The workflow for `description`, named `name`.
    fn plan<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        tools: &'a ToolIndex,
    ) -> Pin<Box<dyn Future<Output = Result<Planned, PlanError>> + Send + 'a>>;
}

/// The seed's `build_workflow_from_description`: `planner`'s workflow for `description`.
pub async fn build_workflow_from_description(
    name: &str,
    description: &str,
    tools: &ToolIndex,
    planner: &dyn Planner,
) -> Result<Planned, PlanError> {
    planner.plan(name, description, tools).await
}

/// A planner without a model: the description is split into clauses (at `,`, `;`, `.`, `and`,
/// `then`), each clause gets the best tool for it, and each parameter reads the latest earlier
/// step whose output has a field of its name (`geoId` from an output's `geoId`, `originSkyId`
/// from `skyId`), or else becomes an input of the workflow.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeywordPlanner;

impl Planner for KeywordPlanner {
    fn plan<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        tools: &'a ToolIndex,
    ) -> Pin<Box<dyn Future<Output = Result<Planned, PlanError>> + Send + 'a>> {
        Box::pin(std::future::ready(keyword_plan(name, description, tools)))
    }
}

/// The clauses of a description: split at punctuation and at the words that join steps.
pub(crate) fn clauses(description: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in description.split([',', ';', '.', '\n']) {
        let mut clause = Vec::new();
        for word in part.split_whitespace() {
            if matches!(word.to_lowercase().as_str(), "and" | "then" | "afterwards" | "finally") {
                if !clause.is_empty() {
                    out.push(clause.join(" "));
                    clause.clear();
                }
                continue;
            }
            clause.push(word);
        }
        if !clause.is_empty() {
            out.push(clause.join(" "));
        }
    }
    out
}

/// An identifier for a step calling `tool`: its words, lower case, joined by `_`.
fn step_id(tool: &str, taken: &BTreeSet<String>) -> String {
    let base: String =
        words(tool).to_lowercase().split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("_");
    let base = if base.starts_with(|c: char| c.is_ascii_digit()) || base.is_empty() {
        format!("step_{base}")
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// Whether `name` is a Rust identifier (what `workflow!` text can call a tool or input).
fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The output field a parameter reads: the same name, or one it ends with (`originSkyId` reads
/// `skyId`), ignoring case.
fn field_for<'a>(parameter: &str, outputs: &'a [String]) -> Option<&'a str> {
    let p = parameter.to_lowercase();
    outputs
        .iter()
        .find(|f| f.to_lowercase() == p)
        .or_else(|| {
            outputs.iter().filter(|f| f.len() >= 2 && p.ends_with(&f.to_lowercase())).max_by_key(|f| f.len())
        })
        .map(String::as_str)
}

fn keyword_plan(name: &str, description: &str, tools: &ToolIndex) -> Result<Planned, PlanError> {
    let mut steps: Vec<WorkflowStep> = Vec::new();
    let mut outputs: Vec<&[String]> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut taken = BTreeSet::new();
    for clause in clauses(description) {
        let Some(hit) = tools.search(&clause, 1).into_iter().next() else { continue };
        let id = step_id(hit.name, &taken);
        taken.insert(id.clone());
        let mut step = WorkflowStep::new(id, hit.name);
        let mut parameters = Map::new();
        for parameter in &hit.tool.parameters {
            let source =
                (0..steps.len()).rev().find_map(|i| field_for(parameter, outputs[i]).map(|f| (i, f)));
            let value = match source {
                // The reference is the dependency.
                Some((i, field)) => format!("{{{{{}.{field}}}}}", steps[i].step_id),
                None => {
                    if !inputs.contains(parameter) {
                        inputs.push(parameter.clone());
                    }
                    format!("{{{{{parameter}}}}}")
                }
            };
            parameters.insert(parameter.clone(), Value::String(value));
        }
        step.parameters = parameters;
        outputs.push(&hit.tool.outputs);
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(PlanError::NoTool(description.to_owned()));
    }
    let template = WorkflowTemplate {
        name: name.to_owned(),
        description: description.to_owned(),
        inputs: inputs
            .iter()
            .map(|i| WorkflowInput { name: i.clone(), ty: Some("serde_json::Value".to_owned()) })
            .collect(),
        steps,
        metadata: Map::new(),
        parallel_groups: None,
    };
    let dsl = dsl(&template);
    Ok(Planned { template, dsl })
}

/// A parameter's value as `workflow!` text: a reference `<<step.field>>`, a string with
/// references in it, a number or a boolean; `None` for a list or an object.
fn argument(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => {
            let inner = text.strip_prefix("{{").and_then(|t| t.strip_suffix("}}"));
            match inner {
                Some(reference) if !reference.contains("{{") && !reference.contains("}}") => {
                    Some(format!("<<{}>>", reference.trim()))
                }
                _ => {
                    let text = text.replace("{{", "<<").replace("}}", ">>");
                    Some(serde_json::to_string(&Value::String(text)).unwrap_or_default())
                }
            }
        }
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The template as `workflow!` text, when every name in it is an identifier and every value
/// has a `workflow!` spelling.
pub(crate) fn dsl(template: &WorkflowTemplate) -> Option<String> {
    let names = std::iter::once(&template.name)
        .chain(template.inputs.iter().map(|i| &i.name))
        .chain(template.steps.iter().flat_map(|s| std::iter::once(&s.tool_name).chain(s.parameters.keys())));
    if !names.into_iter().all(|n| is_identifier(n)) || template.steps.iter().any(|s| !s.depends_on.is_empty())
    {
        return None;
    }
    let mut out = String::new();
    for line in template.description.lines() {
        out.push_str(&format!("/// {line}\n"));
    }
    let inputs: Vec<String> =
        template.inputs.iter().map(|i| format!("{}: serde_json::Value", i.name)).collect();
    out.push_str(&format!("{}({}) {{\n", template.name, inputs.join(", ")));
    for step in &template.steps {
        let mut args = Vec::new();
        for (name, value) in &step.parameters {
            args.push(format!("{name}: {}", argument(value)?));
        }
        out.push_str(&format!("    {} = {}({});\n", step.step_id, step.tool_name, args.join(", ")));
    }
    out.push_str("}\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolDoc;

    #[test]
    fn a_description_splits_into_clauses_at_punctuation_and_joining_words() {
        assert_eq!(
            clauses("Find flights from New York to London, and then find hotels in London. Email me"),
            ["Find flights from New York to London", "find hotels in London", "Email me"]
        );
        assert!(clauses(" , and . ").is_empty());
    }

    #[test]
    fn parameters_read_the_latest_earlier_output_of_their_name() {
        assert_eq!(field_for("geoId", &["geoId".into(), "name".into()]), Some("geoId"));
        assert_eq!(field_for("originSkyId", &["entityId".into(), "skyId".into()]), Some("skyId"));
        assert_eq!(field_for("query", &["skyId".into()]), None);
    }

    fn travel() -> ToolIndex {
        ToolIndex::new([
            ToolDoc::new("search_airport", "Find an airport by city name", ["query"])
                .with_outputs(["skyId", "entityId"]),
            ToolDoc::new(
                "search_flights",
                "Find flights between two airports",
                ["originSkyId", "destinationSkyId", "date"],
            ),
            ToolDoc::new("search_location", "Find a city's location id for hotels", ["query"])
                .with_outputs(["geoId"]),
            ToolDoc::new("search_hotels", "Find hotels near a location", ["geoId", "checkIn"]),
        ])
    }

    #[test]
    fn the_keyword_planner_wires_outputs_to_later_parameters() {
        let planned =
            keyword_plan("trip", "Find the airport of Paris, then find hotels near its location", &travel())
                .unwrap();
        let steps: Vec<(&str, &str)> =
            planned.template.steps.iter().map(|s| (s.step_id.as_str(), s.tool_name.as_str())).collect();
        assert_eq!(steps, [("search_airport", "search_airport"), ("search_hotels", "search_hotels")]);
        assert_eq!(planned.template.steps[1].parameters["geoId"], "{{geoId}}", "no earlier step has a geoId");
        let dsl = planned.dsl.unwrap();
        assert_eq!(
            dsl,
            "/// Find the airport of Paris, then find hotels near its location\n\
             trip(query: serde_json::Value, geoId: serde_json::Value, checkIn: serde_json::Value) {\n    \
             search_airport = search_airport(query: <<query>>);\n    \
             search_hotels = search_hotels(geoId: <<geoId>>, checkIn: <<checkIn>>);\n}\n"
        );
    }

    #[test]
    fn a_later_step_reads_the_output_field_its_parameter_names() {
        let planned =
            keyword_plan("stay", "Look up the location id of London, then find hotels there", &travel())
                .unwrap();
        let hotels = &planned.template.steps[1];
        assert_eq!(
            (hotels.tool_name.as_str(), &hotels.parameters["geoId"]),
            ("search_hotels", &Value::from("{{search_location.geoId}}"))
        );
        assert_eq!(hotels.parameters["checkIn"], "{{checkIn}}");
        let names: Vec<&str> = planned.template.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["query", "checkIn"]);
        // The text reads back as the same workflow.
        let read = WorkflowTemplate::from_dsl(planned.dsl.as_deref().unwrap()).unwrap().remove(0);
        assert_eq!(read.steps, planned.template.steps);
        assert!(workflow_runtime::validate::plan(&planned.template).is_ok());
    }

    #[test]
    fn nothing_to_match_is_an_error_and_odd_names_have_no_dsl() {
        let err = keyword_plan("x", "compose a sonnet", &travel()).unwrap_err();
        assert_eq!(err.to_string(), "no tool matches any part of the description `compose a sonnet`");
        let odd = ToolIndex::new([ToolDoc::new("Media.FindMovies", "Find movies by genre", ["genre"])]);
        let planned = keyword_plan("films", "find movies by genre", &odd).unwrap();
        assert_eq!((planned.template.steps[0].step_id.as_str(), planned.dsl), ("media_find_movies", None));
    }
}
