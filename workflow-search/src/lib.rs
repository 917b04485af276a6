//! Tool search for [`workflow`](https://docs.rs/workflow): tools ranked by a natural-language
//! description with BM25 (the `bm25` crate: English stemming and stop words) over their names
//! (split on `_`, `.` and case), descriptions and parameter names; and workflows planned from a
//! description through a [`Planner`]: [`KeywordPlanner`], which needs no model, or
//! [`ChatPlanner`], which asks an OpenAI-compatible chat endpoint.
//!
//! ```
//! use workflow_search::{ToolDoc, ToolIndex};
//!
//! let index = ToolIndex::new([
//!     ToolDoc::new("SkyScrapperSearchAirport", "Search an airport by its city's name", ["query"]),
//!     ToolDoc::new("TripadvisorSearchHotels", "Find hotels near a location", ["geoId", "checkIn"]),
//! ]);
//! let hits = index.search("find me a hotel in London", 5);
//! assert_eq!(hits[0].name, "TripadvisorSearchHotels");
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod openai;
mod plan;

use bm25::{Language, SearchEngine, SearchEngineBuilder};
use serde_json::Value;
use workflow_runtime::{ToolDefinition, ToolRegistry};

pub use openai::ChatPlanner;
pub use plan::{KeywordPlanner, PlanError, Planned, Planner, build_workflow_from_description};

/// What the index knows of a tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDoc {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its parameters' names.
    pub parameters: Vec<String>,
    /// Its output's fields, when its output is an object with known fields (what
    /// [`KeywordPlanner`] wires later steps' parameters to).
    pub outputs: Vec<String>,
}

impl ToolDoc {
    /// A tool with these parameters and no known output fields.
    pub fn new<P: Into<String>>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: impl IntoIterator<Item = P>,
    ) -> Self {
        ToolDoc {
            name: name.into(),
            description: description.into(),
            parameters: parameters.into_iter().map(Into::into).collect(),
            outputs: Vec::new(),
        }
    }

    /// The same, with its output's fields.
    #[must_use]
    pub fn with_outputs<P: Into<String>>(mut self, outputs: impl IntoIterator<Item = P>) -> Self {
        self.outputs = outputs.into_iter().map(Into::into).collect();
        self
    }

    /// The text BM25 indexes: the name's words, the description, the parameters' words.
    fn text(&self) -> String {
        let parameters: Vec<String> = self.parameters.iter().map(|p| words(p)).collect();
        format!("{} {} {}", words(&self.name), self.description, parameters.join(" "))
    }
}

/// The property names of an object schema, in its order.
fn properties(schema: &Value) -> Vec<String> {
    schema.get("properties").and_then(Value::as_object).map_or_else(Vec::new, |p| p.keys().cloned().collect())
}

impl From<&ToolDefinition> for ToolDoc {
    fn from(definition: &ToolDefinition) -> Self {
        ToolDoc {
            name: definition.name.clone(),
            description: definition.description.clone(),
            parameters: properties(definition.input_schema.as_value()),
            outputs: properties(definition.output_schema.as_value()),
        }
    }
}

/// The words of an identifier: `SkyScrapperSearchAirport` → `Sky Scrapper Search Airport`,
/// `get_user_details` → `get user details`, `Media.FindMovies` → `Media Find Movies`.
pub fn words(identifier: &str) -> String {
    let mut out = String::with_capacity(identifier.len() + 8);
    let mut previous: Option<char> = None;
    let chars: Vec<char> = identifier.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            previous = None;
            continue;
        }
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let boundary = match previous {
            // `userId`, `get2FA` → a new word at the upper-case letter; `HTTPServer` → before `S`.
            Some(p) => {
                (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                    || (c.is_uppercase() && p.is_uppercase() && next_lower)
                    || (c.is_ascii_digit() && p.is_alphabetic())
            }
            None => false,
        };
        if boundary && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push(c);
        previous = Some(c);
    }
    out.trim_end().to_owned()
}

/// A tool found by [`ToolIndex::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolHit<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its BM25 score: higher is closer.
    pub score: f32,
    /// What the index knows of it.
    pub tool: &'a ToolDoc,
}

/// Tools indexed for search by description.
pub struct ToolIndex {
    tools: Vec<ToolDoc>,
    engine: SearchEngine<u32>,
}

impl std::fmt::Debug for ToolIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolIndex").field("tools", &self.tools.len()).finish_non_exhaustive()
    }
}

impl ToolIndex {
    /// An index of these tools.
    pub fn new(tools: impl IntoIterator<Item = ToolDoc>) -> Self {
        let tools: Vec<ToolDoc> = tools.into_iter().collect();
        let documents = tools.iter().enumerate().map(|(i, t)| bm25::Document::new(i as u32, t.text()));
        let engine = SearchEngineBuilder::<u32>::with_documents(Language::English, documents).build();
        ToolIndex { tools, engine }
    }

    /// An index of a registry's tools.
    pub fn of_registry<S: Send + Sync + 'static>(registry: &ToolRegistry<S>) -> Self {
        Self::new(registry.definitions().map(ToolDoc::from))
    }

    /// The tools indexed, in the order given.
    pub fn tools(&self) -> &[ToolDoc] {
        &self.tools
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&ToolDoc> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The `limit` tools closest to `query`, best first (equal scores by name); a tool that
    /// shares no word with the query is not returned.
    pub fn search(&self, query: &str, limit: usize) -> Vec<ToolHit<'_>> {
        let mut hits: Vec<ToolHit<'_>> = self
            .engine
            .search(query, None)
            .into_iter()
            .filter_map(|r| {
                let tool = self.tools.get(r.document.id as usize)?;
                Some(ToolHit { name: tool.name.as_str(), score: r.score, tool })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(b.name)));
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_into_words() {
        assert_eq!(words("SkyScrapperSearchAirport"), "Sky Scrapper Search Airport");
        assert_eq!(words("get_user_details"), "get user details");
        assert_eq!(words("Media.FindMovies"), "Media Find Movies");
        assert_eq!(words("HTTPServerError"), "HTTP Server Error");
        assert_eq!(words("originSkyId"), "origin Sky Id");
        assert_eq!(words("Alpha_Vantage_CURRENCY_EXCHANGE_RATE"), "Alpha Vantage CURRENCY EXCHANGE RATE");
        assert_eq!(words("top10Songs"), "top 10 Songs");
    }

    #[test]
    fn search_ranks_by_name_description_and_parameters_deterministically() {
        let index = ToolIndex::new([
            ToolDoc::new("get_weather", "Current conditions for a city", ["city"]),
            ToolDoc::new("send_email", "Send a message", ["recipient", "subject", "body"]),
            ToolDoc::new("get_forecast", "Weather for the coming days", ["city", "days"]),
        ]);
        let names = |q: &str| index.search(q, 3).iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(names("email the report"), ["send_email"]);
        assert_eq!(names("weather forecast for Paris")[0], "get_forecast");
        assert_eq!(names("which subject line"), ["send_email"], "parameter names are indexed");
        assert!(names("quantum chromodynamics").is_empty());
        assert_eq!(index.search("weather", 1).len(), 1);
    }
}
