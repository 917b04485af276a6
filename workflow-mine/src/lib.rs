//! Pattern mining for `workflow`.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod count;
mod detect;
mod emit;
mod error;
mod event;
mod flow;
mod read;
mod session;

pub use detect::{
    ContextGroup, MinSupport, MineOptions, Mined, MinedStep, Occurrence, Pattern, PatternDetector, Progress,
    ReadStats,
};
pub use error::{BadLine, BadReason, LineRef, MineError};
pub use event::Event;
pub use flow::{Binding, Bound};
pub use read::{LogSource, ReadOptions};
