//! Token accounting: how many tokens of a run's intermediate results stayed in the workflow
//! instead of passing through a model (the seed's "token reduction").
//!
//! When a model calls tools one by one, every tool's result comes back into its context. When it
//! runs a workflow instead, it sees only what the workflow returns: the outputs of its last
//! steps, those no other step reads from. The other outputs are *kept*: a run given a
//! [`Tokenizer`] (`RunContext::with_tokenizer`) counts both in [`TokenUsage`], in its record
//! ([`RunRecord::tokens`](crate::RunRecord::tokens)) and in its journal's last entry, for
//! compiled and run-time workflows alike.
//! `workflow-tokens` has tokenizers for OpenAI's encodings.
//!
//! ```
//! use serde_json::json;
//! use workflow_runtime::tokens::{TokenUsage, Tokenizer};
//!
//! /// One token per word: enough for an example.
//! struct Words;
//! impl Tokenizer for Words {
//!     fn encoding(&self) -> &str { "words" }
//!     fn count(&self, text: &str) -> usize { text.split_whitespace().count() }
//! }
//!
//! let issues = json!("42 crash on empty input");
//! let pr = json!("pull 101");
//! let usage = TokenUsage::count(&Words, [(&issues, false), (&pr, true)]);
//! assert_eq!((usage.kept, usage.returned), (5, 2));
//! assert_eq!(usage.kept_share(), Some(5.0 / 7.0));
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Counts the tokens of a text, as a model's tokenizer does.
pub trait Tokenizer: Send + Sync {
    /// The encoding's name, as `o200k_base`.
    fn encoding(&self) -> &str;
    /// How many tokens `text` is.
    fn count(&self, text: &str) -> usize;
}

/// The tokens of a run's step outputs: those kept in the workflow and those it returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// The tokenizer's encoding.
    pub encoding: String,
    /// Tokens of the outputs that other steps read and no model saw.
    pub kept: u64,
    /// Tokens of the outputs of the last steps (those no step reads), which the caller gets.
    pub returned: u64,
}

impl TokenUsage {
    /// Counts `outputs`, each with whether the run returns it.
    pub fn count<'v>(
        tokenizer: &dyn Tokenizer,
        outputs: impl IntoIterator<Item = (&'v Value, bool)>,
    ) -> Self {
        let mut usage = TokenUsage { encoding: tokenizer.encoding().to_owned(), kept: 0, returned: 0 };
        for (output, returned) in outputs {
            let tokens = tokenizer.count(&text_of(output)) as u64;
            if returned {
                usage.returned += tokens;
            } else {
                usage.kept += tokens;
            }
        }
        usage
    }

    /// The share of the outputs' tokens that stayed in the workflow; `None` when there were none.
    pub fn kept_share(&self) -> Option<f64> {
        let total = self.kept + self.returned;
        (total > 0).then(|| self.kept as f64 / total as f64)
    }
}

/// The text a model reads of a tool's result: a string as it is, anything else as JSON.
pub fn text_of(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(text) => Cow::Borrowed(text),
        other => Cow::Owned(other.to_string()),
    }
}

/// The tokens of a compiled workflow's outputs (its `…Outputs` struct, serialised as an object
/// of step ids), those of the steps in `returned` counted as returned; a step that did not run
/// (`null`) counts nothing.
pub fn tokens_of<T: Serialize + ?Sized>(
    outputs: &T,
    returned: &[&str],
    tokenizer: &dyn Tokenizer,
) -> TokenUsage {
    let value = serde_json::to_value(outputs).unwrap_or(Value::Null);
    let Value::Object(steps) = value else {
        return TokenUsage { encoding: tokenizer.encoding().to_owned(), kept: 0, returned: 0 };
    };
    let outputs =
        steps.iter().filter(|(_, v)| !v.is_null()).map(|(step, v)| (v, returned.contains(&step.as_str())));
    TokenUsage::count(tokenizer, outputs)
}
