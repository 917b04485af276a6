//! Pattern mining for `workflow`.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod count;
mod error;
mod event;
mod flow;
mod read;
mod session;

pub use error::{BadLine, BadReason, LineRef, MineError};
pub use event::Event;
pub use read::{LogSource, ReadOptions};
