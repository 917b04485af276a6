//! The shared core of [`workflow`](https://docs.rs/workflow): what a workflow is and what makes
//! it well formed, written once for `workflow!` (which reads it from tokens and reports problems
//! at `proc_macro2` spans) and for run-time workflows (read from JSON, YAML or DSL text, with
//! problems at lines and columns).
//!
//! - [`model`]: the step model, generic over the span type of its caller;
//! - [`validate`]: the rule book, each rule one `check_*`, returning a [`Checked`](validate::Checked)
//!   workflow that code generation and execution consume;
//! - [`graph`]: needs, levels, cycles and skip propagation;
//! - [`policy`]: retry policies, timeouts and their one set of defaults;
//! - [`suggest`]: "did you mean" and name lists;
//! - [`print`](mod@print): the model back to DSL text;
//! - the expression language: one pest grammar ([`parse`], [`ast`]) for run-time templates
//!   (`"Fixes #{{list.issues[0].number}}"`), conditions (`"{{s.count}} > 3"`), the `<<…>>`
//!   references of `workflow!` strings and the DSL as text ([`dsl`]).
//!
//! This crate needs no async runtime and no serde, so the macros stay quick to build.
//!
//! ```
//! use workflow_core::{dsl, validate};
//!
//! let [wf] = <[_; 1]>::try_from(dsl::workflows("w(x: u64) { a = t(v: <<x>>); b = t(v: <<a>>) retry 2; }")?).unwrap();
//! let checked = validate::check(wf).unwrap();
//! assert_eq!(checked.graph.levels, vec![vec![0], vec![1]]);
//! assert_eq!(checked.policies[1].retry.retries, 2);
//!
//! let [wf] = <[_; 1]>::try_from(dsl::workflows("w(x: u64) { a = t(v: <<y>>); }")?).unwrap();
//! let problems = validate::check(wf).unwrap_err();
//! assert_eq!(problems[0].message, "unknown step or input `y`; the inputs are `x` and the steps are `a`");
//! # Ok::<(), workflow_core::ParseError>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod ast;
pub mod dsl;
mod error;
pub mod graph;
pub mod model;
pub mod parse;
pub mod policy;
pub mod print;
pub mod suggest;
pub mod validate;

pub use error::ParseError;

#[cfg(test)]
mod testing {
    use crate::ast::Span;
    use crate::model::Workflow;

    /// A workflow `w(x: u64)` with these steps, read from text.
    pub fn workflow(steps: &str) -> Workflow<Span> {
        let mut wfs = crate::dsl::workflows(&format!("w(x: u64) {{ {steps} }}")).unwrap();
        wfs.remove(0)
    }
}
