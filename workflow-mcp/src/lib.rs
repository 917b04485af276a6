//! MCP interop for [`workflow`](https://docs.rs/workflow), with the official `rmcp` crate:
//! tools of MCP servers registered in a [`ToolRegistry`](workflow_runtime::ToolRegistry), so
//! that run-time workflows call them like any other tool ([`McpServer`]); and workflows served
//! as MCP tools ([`McpService`]).
//!
//! ```no_run
//! use workflow_mcp::McpServer;
//! use workflow_runtime::ToolRegistry;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let files = McpServer::stdio("files", "node", ["server-filesystem/dist/index.js", "/tmp/work"])
//!     .connect()
//!     .await?;
//! let mut tools = ToolRegistry::new(());
//! files.register(&mut tools, "")?;
//! let text = tools.call("read_text_file", serde_json::json!({ "path": "/tmp/work/notes.md" })).await?;
//! # Ok(()) }
//! ```
//!
//! A server's child process gets a cleared environment plus [`client::DEFAULT_ENV`] and what
//! [`McpServer::inherit_env`] and [`McpServer::env`] add, so it does not see the user's tokens;
//! every call has a timeout; a server that exits, hangs or writes something that is not MCP is
//! an error naming it; and its process ends when the last tool registered from it is dropped.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client;
pub mod server;
pub mod tool;

pub use client::{McpClient, McpServer};
pub use server::{McpService, ServeError, serve_http};
pub use tool::{McpTools, mcp_call};

/// Why a server could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// Its process did not start, or it did not complete MCP's handshake.
    #[error("MCP server `{server}` did not start: {message}")]
    Start {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// It did not answer in time.
    #[error("MCP server `{server}` did not answer {what} within {after:?}")]
    Timeout {
        /// The server.
        server: String,
        /// What it was asked.
        what: String,
        /// The time it had.
        after: std::time::Duration,
    },
    /// It answered something that is not what MCP says.
    #[error("MCP server `{server}`: {message}")]
    Protocol {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
}
