//! Files under one directory: read a text or JSON file, write a text file. The files are
//! read and written in one call each, on the step's task: these tools are for small files.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use workflow::prelude::*;

/// The directory the file tools may read and write under; paths are relative to it, and one
/// that leaves it (`..`, an absolute path elsewhere) is refused.
#[derive(Clone, Debug)]
pub struct Files {
    /// The directory.
    pub root: PathBuf,
}

impl Files {
    /// The file at `path` under the root, or why it is refused.
    fn resolve(&self, path: &str) -> Result<PathBuf, ToolError> {
        let relative = Path::new(path);
        let relative = match relative.strip_prefix(&self.root) {
            Ok(inside) => inside,
            Err(_) => relative,
        };
        if relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(ToolError::permanent(format!(
                "`{path}` is outside the files' root `{}`: give a path under it, without `..`",
                self.root.display()
            )));
        }
        Ok(self.root.join(relative))
    }
}

/// Turns an I/O error into a tool error naming the file; a missing file is permanent.
fn io_error(path: &str, err: std::io::Error) -> ToolError {
    let message = format!("{path}: {err}");
    match err.kind() {
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut => ToolError::retryable(message),
        _ => ToolError::permanent(message),
    }
}

/// A text file's content.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Text {
    /// The text.
    pub text: String,
    /// How many lines it has.
    pub lines: u64,
}

/// Read a UTF-8 text file.
#[tool(read_only = true)]
pub async fn file_read(State(files): State<Files>, path: String) -> Result<Text, ToolError> {
    let text = std::fs::read_to_string(files.resolve(&path)?).map_err(|e| io_error(&path, e))?;
    let lines = text.lines().count() as u64;
    Ok(Text { text, lines })
}

/// A JSON file's document.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Document {
    /// The document.
    pub body: Value,
}

/// Read a JSON file.
#[tool(read_only = true)]
pub async fn file_read_json(State(files): State<Files>, path: String) -> Result<Document, ToolError> {
    let text = std::fs::read_to_string(files.resolve(&path)?).map_err(|e| io_error(&path, e))?;
    let body = serde_json::from_str(&text).map_err(|e| ToolError::permanent(format!("{path}: {e}")))?;
    Ok(Document { body })
}

/// A file written.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Written {
    /// Its path, as given.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Write a UTF-8 text file, replacing it if it exists.
#[tool]
pub async fn file_write(
    State(files): State<Files>,
    path: String,
    text: String,
) -> Result<Written, ToolError> {
    let target = files.resolve(&path)?;
    std::fs::write(&target, text.as_bytes()).map_err(|e| io_error(&path, e))?;
    Ok(Written { path, bytes: text.len() as u64 })
}
