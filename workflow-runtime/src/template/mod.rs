//! Templates and expressions at run time: `{{step.field}}` parameters and conditions.
//!
//! The grammar and parser are in `workflow-template` (shared with the macros); evaluation is
//! here.

pub mod eval;

pub use eval::{EvalError, Limits, Scope, eval, render, render_text, resolve, truthy};
pub use workflow_template::ParseError;
pub use workflow_template::ast;
pub use workflow_template::parse::{condition, template};

#[cfg(test)]
mod tests;
