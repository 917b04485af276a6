//! OpenAI's tokenizers for [`workflow`](https://docs.rs/workflow)'s token accounting: tiktoken's
//! `o200k_base` (GPT-4o, o1, o3, GPT-4.1) and `cl100k_base` (GPT-4, GPT-3.5) encodings, with the
//! [`Tokenizer`] trait that `RunContext::with_tokenizer` takes.
//!
//! ```
//! use workflow_runtime::tokens::Tokenizer;
//! use workflow_tokens::{Encoding, Tiktoken};
//!
//! let cl100k = Tiktoken::new(Encoding::Cl100k)?;
//! assert_eq!(cl100k.tokens("hello world"), [15339, 1917]);
//! assert_eq!(cl100k.count("hello world"), 2);
//! # Ok::<(), workflow_tokens::TokenizerError>(())
//! ```
//!
//! The encodings' tables are built into the crate (no download) and parsed once per process,
//! the first time one is asked for.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;
pub use workflow_runtime::tokens::{TokenUsage, Tokenizer};

/// An encoding of OpenAI's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `o200k_base`: GPT-4o, GPT-4.1, o1, o3.
    O200k,
    /// `cl100k_base`: GPT-4, GPT-3.5-turbo, text-embedding-3.
    Cl100k,
}

impl Encoding {
    /// Its name in tiktoken.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200k => "o200k_base",
            Encoding::Cl100k => "cl100k_base",
        }
    }

    /// The encoding named `name` (`o200k_base` or `o200k`, `cl100k_base` or `cl100k`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "o200k_base" | "o200k" => Some(Encoding::O200k),
            "cl100k_base" | "cl100k" => Some(Encoding::Cl100k),
            _ => None,
        }
    }
}

/// Why an encoding could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot load the tokenizer `{encoding}`: {message}")]
pub struct TokenizerError {
    /// The encoding's name.
    pub encoding: &'static str,
    /// What went wrong.
    pub message: String,
}

/// A tiktoken encoding, shared by every `Tiktoken` of it in the process.
#[derive(Clone, Copy)]
pub struct Tiktoken {
    encoding: Encoding,
    bpe: &'static CoreBPE,
}

impl std::fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiktoken").field("encoding", &self.encoding.name()).finish()
    }
}

impl Tiktoken {
    /// The tokenizer of `encoding`, parsed on first use.
    pub fn new(encoding: Encoding) -> Result<Self, TokenizerError> {
        static O200K: OnceLock<Result<CoreBPE, String>> = OnceLock::new();
        static CL100K: OnceLock<Result<CoreBPE, String>> = OnceLock::new();
        let loaded = match encoding {
            Encoding::O200k => O200K.get_or_init(|| tiktoken_rs::o200k_base().map_err(|e| e.to_string())),
            Encoding::Cl100k => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().map_err(|e| e.to_string())),
        };
        match loaded {
            Ok(bpe) => Ok(Tiktoken { encoding, bpe }),
            Err(message) => Err(TokenizerError { encoding: encoding.name(), message: message.clone() }),
        }
    }

    /// `o200k_base`, the encoding of current OpenAI models.
    pub fn o200k() -> Result<Self, TokenizerError> {
        Self::new(Encoding::O200k)
    }

    /// `cl100k_base`, the encoding of GPT-4 and GPT-3.5.
    pub fn cl100k() -> Result<Self, TokenizerError> {
        Self::new(Encoding::Cl100k)
    }

    /// Its encoding.
    pub fn encoding_of(&self) -> Encoding {
        self.encoding
    }

    /// The token ids of `text`, special tokens (`<|endoftext|>`) read as plain text.
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        self.bpe.encode_ordinary(text)
    }

    /// How many tokens `text` is (as [`Tokenizer::count`], without importing the trait).
    pub fn count(&self, text: &str) -> usize {
        self.bpe.encode_ordinary(text).len()
    }
}

impl Tokenizer for Tiktoken {
    fn encoding(&self) -> &str {
        self.encoding.name()
    }

    fn count(&self, text: &str) -> usize {
        Tiktoken::count(self, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Token ids published with tiktoken: its own tests (`tests/test_simple_public.py`: cl100k
    // "hello world"), the OpenAI Cookbook ("tiktoken is great!"), and tiktoken's and
    // js-tiktoken's examples.
    #[test]
    fn cl100k_matches_tiktoken() {
        let cl100k = Tiktoken::cl100k().unwrap();
        assert_eq!(cl100k.tokens("hello world"), [15339, 1917]);
        assert_eq!(cl100k.tokens("Hello, world!"), [9906, 11, 1917, 0]);
        assert_eq!(cl100k.tokens("rust is fast"), [36888, 374, 5043]);
        assert_eq!(cl100k.tokens("tiktoken is great!"), [83, 1609, 5963, 374, 2294, 0]);
    }

    #[test]
    fn o200k_matches_tiktoken() {
        let o200k = Tiktoken::o200k().unwrap();
        assert_eq!(o200k.tokens("Hello how are you"), [13225, 1495, 553, 481]);
        assert_eq!(o200k.tokens("hello world"), [24912, 2375]);
        // The OpenAI Cookbook's "How to count tokens with tiktoken", for both encodings.
        assert_eq!(o200k.tokens("tiktoken is great!"), [83, 8251, 2488, 382, 2212, 0]);
    }

    #[test]
    fn special_tokens_are_counted_as_text() {
        let o200k = Tiktoken::o200k().unwrap();
        assert!(o200k.count("<|endoftext|>") > 1, "not the one special token");
        assert_eq!(Encoding::from_name("cl100k"), Some(Encoding::Cl100k));
        assert_eq!(Encoding::from_name("p50k"), None);
    }
}
