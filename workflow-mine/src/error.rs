//! What can go wrong when reading logs: a bad line (reported, skipped, counted) and the errors
//! that stop a read.

use std::fmt;

/// A line of a log that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file, as it was named.
    pub file: String,
    /// The line number, from 1.
    pub line: u64,
    /// Why it was skipped.
    pub reason: BadReason,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadReason {
    /// The bytes are not UTF-8.
    #[error("invalid UTF-8 at byte {at}")]
    InvalidUtf8 {
        /// The offset of the first bad byte in the line.
        at: usize,
    },
    /// The text is not JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The JSON is not an object.
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// A field is missing or has the wrong type.
    #[error("bad event: {0}")]
    Field(String),
    /// The line is longer than the cap; it was skipped without being held in memory.
    #[error("line of {len} bytes is longer than the limit of {limit} bytes")]
    TooLong {
        /// The line's length in bytes, without its newline.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// The last line has no newline and its JSON ends early: the file was cut while written.
    #[error("truncated last line: the file ends inside the JSON ({0})")]
    Truncated(String),
}

/// The place of a line in the logs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRef {
    /// The file, as it was named.
    pub file: String,
    /// The line number, from 1.
    pub line: u64,
}

/// An error that stops a read.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    /// A file could not be opened or read (a gzip stream that is corrupt included).
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A file had more bad lines than the ratio allows.
    #[error(
        "{file}: {bad} of {lines} lines are bad ({ratio:.2} %, more than the {max:.2} % allowed); the first: line {first_line}: {first_reason}",
        ratio = 100.0 * *bad as f64 / *lines as f64, max = 100.0 * max_ratio
    )]
    TooManyBadLines {
        /// The file.
        file: String,
        /// Its bad lines.
        bad: u64,
        /// Its lines that are not blank.
        lines: u64,
        /// The ratio allowed.
        max_ratio: f64,
        /// The first bad line's number.
        first_line: u64,
        /// Why the first bad line is bad.
        first_reason: BadReason,
    },
}
