//! Local tools that reshape results between API calls: pick fields, gather search hits, write
//! Markdown. They call nothing outside the process.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use workflow::prelude::*;

use crate::github::Hit;

/// Records with only some of their fields.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Selected {
    /// A JSON array of the records, in their order, each an object with the fields asked for
    /// that it has.
    pub records: Value,
    /// How many records.
    pub count: u64,
}

/// Keep only the given fields of each record of a JSON array of objects.
#[tool(read_only = true)]
pub async fn select_fields(records: Value, fields: Vec<String>) -> Result<Selected, ToolError> {
    let Value::Array(items) = records else {
        return Err(ToolError::permanent(format!(
            "`records` must be a JSON array, found {}",
            kind(&records)
        )));
    };
    let mut selected = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut object) = item else {
            return Err(ToolError::permanent(format!(
                "record {i} must be a JSON object, found {}",
                kind(&item)
            )));
        };
        let kept: Map<String, Value> =
            fields.iter().filter_map(|f| object.remove(f).map(|v| (f.clone(), v))).collect();
        selected.push(Value::Object(kept));
    }
    Ok(Selected { count: selected.len() as u64, records: Value::Array(selected) })
}

/// The JSON kind of a value, for errors.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A titled list of hits.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Section {
    /// What the hits are.
    pub title: String,
    /// The hits.
    pub hits: Vec<Hit>,
}

/// Search hits gathered into sections.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Findings {
    /// One section per search that found something, in the order of the arguments.
    pub sections: Vec<Section>,
    /// How many distinct hits in all.
    pub total: u64,
}

/// Gather the hits of three searches into sections, each URL once (in the first section that has it).
#[tool(read_only = true)]
pub async fn collect_hits(
    issues: Vec<Hit>,
    pull_requests: Vec<Hit>,
    repositories: Vec<Hit>,
) -> Result<Findings, ToolError> {
    let mut seen = BTreeSet::new();
    let mut sections = Vec::new();
    for (title, hits) in
        [("Issues", issues), ("Pull requests", pull_requests), ("Repositories", repositories)]
    {
        let hits: Vec<Hit> = hits.into_iter().filter(|h| seen.insert(h.url.clone())).collect();
        if !hits.is_empty() {
            sections.push(Section { title: title.to_owned(), hits });
        }
    }
    Ok(Findings { sections, total: seen.len() as u64 })
}

/// A Markdown text.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Report {
    /// The Markdown.
    pub text: String,
    /// How many lines it has.
    pub lines: u64,
}

impl Report {
    fn new(text: String) -> Self {
        Report { lines: text.lines().count() as u64, text }
    }
}

/// Text for a Markdown link's label: brackets escaped.
fn label(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]")
}

/// Write sections of hits as a Markdown report: a heading, then a list of links per section.
#[tool(read_only = true)]
pub async fn format_report(title: String, sections: Vec<Section>) -> Result<Report, ToolError> {
    let mut text = format!("# {title}\n");
    if sections.is_empty() {
        text.push_str("\nNothing found.\n");
    }
    for section in &sections {
        text.push_str(&format!("\n## {} ({})\n\n", section.title, section.hits.len()));
        for hit in &section.hits {
            text.push_str(&format!("- [{}]({})\n", label(&hit.title), hit.url));
        }
    }
    Ok(Report::new(text))
}

/// A table cell: a string as it is, other values as JSON, pipes and newlines escaped.
fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    text.replace('|', "\\|").replace('\n', " ")
}

/// Write a JSON array of records as a Markdown table under a heading, one column per field of
/// the first record.
#[tool(read_only = true)]
pub async fn markdown_table(title: String, records: Value) -> Result<Report, ToolError> {
    let Value::Array(records) = records else {
        return Err(ToolError::permanent(format!(
            "`records` must be a JSON array, found {}",
            kind(&records)
        )));
    };
    let columns: Vec<String> = match records.first() {
        Some(Value::Object(first)) => first.keys().cloned().collect(),
        Some(other) => {
            return Err(ToolError::permanent(format!("records must be JSON objects, found {}", kind(other))));
        }
        None => Vec::new(),
    };
    let mut text = format!("# {title}\n\n");
    if columns.is_empty() {
        text.push_str("No records.\n");
        return Ok(Report::new(text));
    }
    text.push_str(&format!("| {} |\n", columns.join(" | ")));
    text.push_str(&format!("|{}\n", " --- |".repeat(columns.len())));
    for record in &records {
        let cells: Vec<String> = columns.iter().map(|c| cell(record.get(c))).collect();
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    Ok(Report::new(text))
}

/// A decision on an approval, read from the signal that carried it.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Decision {
    /// Whether it was approved.
    pub approved: bool,
    /// Who decided.
    pub by: String,
    /// A sentence saying so, for a comment.
    pub comment: String,
}

/// Read an approval decision, `{"approved": true|false, "by": "name"}`, from a signal's payload.
#[tool(read_only = true)]
pub async fn read_decision(signal: Value) -> Result<Decision, ToolError> {
    let approved = signal.get("approved").and_then(Value::as_bool).ok_or_else(|| {
        ToolError::permanent(format!("the decision must have `approved`: true or false; it was {signal}"))
    })?;
    let by = match signal.get("by") {
        Some(Value::String(by)) if !by.trim().is_empty() => by.trim().to_owned(),
        _ => {
            return Err(ToolError::permanent(format!(
                "the decision must say who decided, as `by`; it was {signal}"
            )));
        }
    };
    let verdict = if approved { "Approved" } else { "Rejected" };
    Ok(Decision { comment: format!("{verdict} by {by}."), approved, by })
}
