//! The execution log of [`workflow`](https://docs.rs/workflow) runs, which is also their
//! journal: every run and step (inputs, arguments, output, status, attempts, timings, errors)
//! with the run's id, the workflow's name and a hash of its definition, written as the run goes,
//! so that a run that crashed, failed or was cancelled resumes without calling again the tools
//! whose steps succeeded.
//!
//! Two stores implement [`Journal`]: [`SqliteStore`] (a file, no server; feature `sqlite`, the
//! default) and `PostgresStore` (runs shared by several machines; feature `postgres`). Both
//! apply their schema's migrations when opened, write the entries that arrive together in one
//! transaction off the run's task, and make a step's end durable before the steps that need it
//! start. Three writes a resume can do without are not waited for, and are committed with the
//! next write or within 2 ms: the start of an idempotent step (it is called again anyway), and a
//! run's start and end (a run whose start is lost recorded no step; one whose end is lost ends
//! again when resumed, calling nothing). [`export_jsonl`] writes a store's runs as JSONL in the
//! event format of the pattern miner, so `workflow mine` reads a project's own runs.
//!
//! ```
//! use std::sync::Arc;
//! use workflow::prelude::*;
//! use workflow::RunContext;
//! use workflow::journal::RunId;
//! use workflow_store::SqliteStore;
//!
//! /// Add two numbers.
//! #[tool]
//! async fn add(a: i64, b: i64) -> Result<i64, ToolError> { Ok(a + b) }
//!
//! workflow! {
//!     /// Add twice.
//!     pub sums(x: i64) {
//!         first = add(a: <<x>>, b: 1);
//!         second = add(a: <<first>>, b: <<first>>);
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir()?;
//! let store = Arc::new(SqliteStore::open(dir.path().join("runs.db"))?);
//! let run = RunId::random();
//! let done = sums(2).run(RunContext::new(&()).with_journal(store.clone(), run.clone())).await?;
//! assert_eq!(done.second, 6);
//! // The same id again: nothing is called, the outputs come from the journal.
//! let again = sums(2).run(RunContext::new(&()).with_journal(store.clone(), run.clone())).await?;
//! assert!(again.record.steps.iter().all(|s| s.replayed));
//! let runs = store.runs().await?;
//! assert_eq!(runs[0].steps.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod export;
mod ops;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod queue;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use export::export_jsonl;
pub use ops::{COMPENSATION, StepState, StoredRun, StoredStep};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "postgres")]
pub use queue::{Handler, QueuedResult, QueuedRun, Worker};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use workflow_runtime::StepStatus;
pub use workflow_runtime::journal::{Journal, JournalError, RunId};

/// Why a store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("{store}: {message}")]
    Database {
        /// Which store: `sqlite <path>` or `postgres`.
        store: String,
        /// What the database said.
        message: String,
    },
    /// The database holds a schema newer than this version knows.
    #[error(
        "{store}: the schema is at version {found}, newer than {known}, the latest this version of workflow-store knows"
    )]
    NewerSchema {
        /// Which store.
        store: String,
        /// The version found.
        found: i64,
        /// The latest version known.
        known: i64,
    },
    /// The store's writer has stopped (its thread or task ended).
    #[error("{0}: the store's writer has stopped")]
    Closed(String),
    /// A row could not be read back.
    #[error("{store}: run `{run}`: {message}")]
    Corrupt {
        /// Which store.
        store: String,
        /// The run.
        run: String,
        /// What was wrong.
        message: String,
    },
}

impl From<StoreError> for JournalError {
    fn from(error: StoreError) -> Self {
        JournalError::Store(error.to_string())
    }
}
