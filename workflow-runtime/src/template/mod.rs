//! Templates and expressions at run time: `{{step.field}}` parameters and conditions.
//!
//! The grammar and parser are in `workflow-template` (shared with the macros); evaluation is
//! here.

pub mod eval;

pub use eval::{EvalError, Limits, Scope, eval, render, render_text, resolve, truthy};
pub use workflow_core::ParseError;
pub use workflow_core::ast;
pub use workflow_core::parse::{condition, template};

#[cfg(test)]
mod tests;
