//! A library of run-time workflows: registered by hand or cached from mined patterns, found by
//! name or by the tools an agent has.
//!
//! ```
//! use workflow_runtime::library::{Origin, WorkflowLibrary};
//! use workflow_runtime::WorkflowTemplate;
//!
//! let mut library = WorkflowLibrary::new();
//! let text = "lookup(name: String) { user = get_user(name: <<name>>); orders = get_orders(of: <<user.id>>); }";
//! for template in WorkflowTemplate::from_dsl(text)? {
//!     library.register(template)?;
//! }
//! let found = library.suggest(&["get_user", "get_orders", "send_mail"]);
//! assert_eq!(found[0].entry.template.name, "lookup");
//! assert_eq!(found[0].covered, 2);
//! assert_eq!(library.get("lookup").map(|e| &e.origin), Some(&Origin::Registered));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashMap};

use crate::definition::WorkflowTemplate;
use crate::validate::{Problems, plan};

/// Where a library's workflow comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Registered by the program.
    Registered,
    /// Found by the pattern miner in tool-usage logs.
    Mined {
        /// Sessions in which the chain occurred.
        support: u64,
        /// The share of those sessions in which every call of the chain succeeded.
        success_rate: f64,
        /// Support × success rate, by which mined patterns are ranked.
        score: f64,
        /// A session in which it occurred.
        example_session: String,
    },
}

/// How often a workflow of the library ran, as an execution log tells
/// ([`WorkflowLibrary::record_run`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Runs that ended.
    pub runs: u64,
    /// Those that succeeded.
    pub succeeded: u64,
}

impl Usage {
    /// The share of its ended runs that succeeded; `None` before it has run.
    pub fn success_rate(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.succeeded as f64 / self.runs as f64)
    }
}

/// A workflow of the library.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The workflow.
    pub template: WorkflowTemplate,
    /// Where it comes from.
    pub origin: Origin,
    /// The tools its steps call.
    pub tools: BTreeSet<String>,
    /// How often it ran and succeeded.
    pub usage: Usage,
}

impl Entry {
    /// The template's metadata with its usage, as the keys `usage_count` and `success_rate`
    /// (left out before it has run).
    pub fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut metadata = self.template.metadata.clone();
        metadata.insert("usage_count".to_owned(), self.usage.runs.into());
        if let Some(rate) = self.usage.success_rate() {
            metadata.insert("success_rate".to_owned(), rate.into());
        }
        metadata
    }

    /// How [`WorkflowLibrary::suggest`] ranks workflows that cover as many tools: a mined
    /// workflow by its score, a registered one above every mined one.
    fn rank(&self) -> f64 {
        match self.origin {
            Origin::Registered => f64::INFINITY,
            Origin::Mined { score, .. } => score,
        }
    }
}

/// A workflow that [`WorkflowLibrary::suggest`] found for a set of tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion<'a> {
    /// The workflow.
    pub entry: &'a Entry,
    /// How many of the given tools it calls.
    pub covered: usize,
}

/// Why a workflow was not added to the library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The library has a workflow of that name already (a registered one, which a mined pattern
    /// never replaces).
    #[error("the library has a workflow named `{0}` already")]
    Duplicate(String),
    /// The workflow breaks a rule (names, references, cycles, syntax).
    #[error("workflow `{name}` is not valid:\n{problems}")]
    Invalid {
        /// The workflow's name.
        name: String,
        /// What is wrong with it.
        problems: Problems,
    },
}

/// Workflows by name, with the tools each one calls.
#[derive(Debug, Clone, Default)]
pub struct WorkflowLibrary {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

impl WorkflowLibrary {
    /// An empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a workflow written by the program. It is checked first (without tools: names,
    /// references, cycles); a name already in the library is an error.
    pub fn register(&mut self, template: WorkflowTemplate) -> Result<&Entry, LibraryError> {
        if self.by_name.contains_key(&template.name) {
            return Err(LibraryError::Duplicate(template.name));
        }
        self.insert(template, Origin::Registered)
    }

    /// Adds a mined workflow, or replaces the one of the same name mined before (the logs were
    /// mined again). It never replaces a registered workflow.
    pub fn cache(&mut self, template: WorkflowTemplate, origin: Origin) -> Result<&Entry, LibraryError> {
        match self.by_name.get(&template.name).map(|&i| &self.entries[i].origin) {
            Some(Origin::Registered) => Err(LibraryError::Duplicate(template.name)),
            _ => self.insert(template, origin),
        }
    }

    fn insert(&mut self, template: WorkflowTemplate, origin: Origin) -> Result<&Entry, LibraryError> {
        if let Err(problems) = plan(&template) {
            return Err(LibraryError::Invalid { name: template.name, problems });
        }
        let tools = template.steps.iter().map(|s| s.tool_name.clone()).collect();
        let name = template.name.clone();
        let mut entry = Entry { template, origin, tools, usage: Usage::default() };
        let at = match self.by_name.get(&name) {
            Some(&i) => {
                // Mined again: the runs recorded so far were runs of this workflow too.
                entry.usage = self.entries[i].usage;
                self.entries[i] = entry;
                i
            }
            None => {
                self.entries.push(entry);
                self.by_name.insert(name, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        Ok(&self.entries[at])
    }

    /// Counts one ended run of the workflow `name` (from an execution log), successful or not;
    /// `false` when the library has no workflow of that name.
    pub fn record_run(&mut self, name: &str, succeeded: bool) -> bool {
        let Some(&i) = self.by_name.get(name) else { return false };
        let usage = &mut self.entries[i].usage;
        usage.runs += 1;
        usage.succeeded += u64::from(succeeded);
        true
    }

    /// The workflow named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// Every workflow, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// How many workflows the library has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when it has none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The workflows that an agent with these tools can run: every tool they call is among
    /// `tools`. Those calling more of them come first; among as many, registered workflows
    /// before mined ones, mined ones by score, then by name.
    pub fn suggest(&self, tools: &[&str]) -> Vec<Suggestion<'_>> {
        let given: BTreeSet<&str> = tools.iter().copied().collect();
        let mut found: Vec<Suggestion<'_>> = self
            .entries
            .iter()
            .filter(|e| !e.tools.is_empty() && e.tools.iter().all(|t| given.contains(t.as_str())))
            .map(|entry| Suggestion { entry, covered: entry.tools.len() })
            .collect();
        found.sort_by(|a, b| {
            b.covered
                .cmp(&a.covered)
                .then(b.entry.rank().total_cmp(&a.entry.rank()))
                .then_with(|| a.entry.template.name.cmp(&b.entry.template.name))
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> WorkflowTemplate {
        WorkflowTemplate::from_dsl(text).expect("valid DSL").remove(0)
    }

    fn mined(score: f64) -> Origin {
        Origin::Mined { support: 10, success_rate: score / 10.0, score, example_session: "s1".into() }
    }

    #[test]
    fn suggests_runnable_workflows_most_tools_first() {
        let mut library = WorkflowLibrary::new();
        library.register(template("one(x: String) { a = ta(v: <<x>>); }")).expect("registered");
        library
            .register(template("two(x: String) { a = ta(v: <<x>>); b = tb(v: <<a>>); }"))
            .expect("registered");
        library.register(template("other(x: String) { c = tc(v: <<x>>); }")).expect("registered");
        library
            .cache(template("mined_low(x: String) { a = ta(v: <<x>>); b = tb(v: <<a>>); }"), mined(3.0))
            .expect("cached");
        library
            .cache(template("mined_high(x: String) { a = ta(v: <<x>>); b = tb(v: <<a>>); }"), mined(8.0))
            .expect("cached");
        let names: Vec<(&str, usize)> = library
            .suggest(&["ta", "tb", "tz"])
            .iter()
            .map(|s| (s.entry.template.name.as_str(), s.covered))
            .collect();
        assert_eq!(names, [("two", 2), ("mined_high", 2), ("mined_low", 2), ("one", 1)]);
        assert!(library.suggest(&["tz"]).is_empty());
    }

    #[test]
    fn a_mined_pattern_replaces_its_earlier_mining_but_never_a_registered_workflow() {
        let mut library = WorkflowLibrary::new();
        library.cache(template("m(x: String) { a = ta(v: <<x>>); }"), mined(1.0)).expect("cached");
        library.cache(template("m(x: String) { a = ta(v: <<x>>); }"), mined(5.0)).expect("re-mined");
        assert_eq!(library.len(), 1);
        assert_eq!(library.get("m").map(Entry::rank), Some(5.0));
        library.register(template("r(x: String) { a = ta(v: <<x>>); }")).expect("registered");
        let err =
            library.cache(template("r(x: String) { a = tb(v: <<x>>); }"), mined(9.0)).expect_err("kept");
        assert_eq!(err.to_string(), "the library has a workflow named `r` already");
        assert_eq!(
            library.get("r").map(|e| e.tools.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["ta".into()])
        );
        assert!(matches!(
            library.register(template("m(x: String) { a = ta(v: <<x>>); }")),
            Err(LibraryError::Duplicate(_))
        ));
    }

    #[test]
    fn usage_counts_and_success_rates_come_from_recorded_runs() {
        let mut library = WorkflowLibrary::new();
        let mut t = template("w(x: String) { a = ta(v: <<x>>); }");
        t.metadata.insert("category".into(), "test".into());
        library.register(t).expect("registered");
        let before = library.get("w").map(Entry::metadata).expect("w");
        assert_eq!(
            serde_json::Value::Object(before),
            serde_json::json!({ "category": "test", "usage_count": 0 })
        );
        for ok in [true, true, false, true] {
            assert!(library.record_run("w", ok));
        }
        assert!(!library.record_run("unknown", true));
        let after = library.get("w").map(Entry::metadata).expect("w");
        assert_eq!(
            serde_json::Value::Object(after),
            serde_json::json!({ "category": "test", "usage_count": 4, "success_rate": 0.75 })
        );
    }

    #[test]
    fn an_invalid_workflow_is_refused_with_its_problems() {
        let mut library = WorkflowLibrary::new();
        let mut broken = template("w(x: String) { a = ta(v: <<x>>); b = tb(v: <<a>>); }");
        broken.steps[0].depends_on.push("b".into());
        let err = library.register(broken).expect_err("a cycle");
        assert!(err.to_string().contains("cycle"), "{err}");
        assert!(library.is_empty());
    }
}
