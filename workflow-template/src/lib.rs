//! The template and expression language of [`workflow`](https://docs.rs/workflow): one pest
//! grammar for run-time templates (`"Fixes #{{list.issues[0].number}}"`), conditions
//! (`"{{s.count}} > 3"`) and the `<<…>>` references in `workflow!` string literals.
//!
//! This crate parses; `workflow-runtime` evaluates. It is apart so that the macros can parse
//! with the same grammar without depending on the runtime.
//!
//! ```
//! use workflow_template::{parse, ast::{Expr, Part}};
//!
//! let t = parse::template("Fixes #{{ list.issues[0].number }}").unwrap();
//! assert!(matches!(&t.parts[..], [Part::Text(_), Part::Expr(Expr::Path(_))]));
//!
//! let err = parse::template("{{ a. }}").unwrap_err();
//! assert_eq!(err.to_string(), "expected a name such as `step.field`, found `}}` at line 1, column 6");
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod ast;
pub mod dsl;
mod error;
pub mod parse;

pub use error::ParseError;
