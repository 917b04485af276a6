//! Durable waits: steps that wait for a signal (a human's approval) or for a time, in a
//! journaled run, across the exit of the process waiting.
//!
//! [`wait_for_signal`] and [`sleep_for`] are tools, used as steps like any other:
//!
//! ```
//! use workflow::prelude::*;
//! use workflow::durable::wait_for_signal;
//!
//! /// Ask for an approval.
//! #[tool]
//! async fn request(item: String) -> Result<String, ToolError> { Ok(format!("request for {item}")) }
//!
//! /// Apply the decision.
//! #[tool]
//! async fn apply(decision: serde_json::Value) -> Result<bool, ToolError> { Ok(decision["ok"] == true) }
//!
//! workflow! {
//!     /// Waits up to a day for someone to approve.
//!     pub approval(item: String) {
//!         asked = request(item: <<item>>);
//!         decision = wait_for_signal(name: "approved", timeout_secs: 86400) depends asked;
//!         applied = apply(decision: <<decision>>);
//!     }
//! }
//! ```
//!
//! The wait's start is recorded in the run's journal the first time the step runs, and its
//! timeout counts from there: a process may exit while the step waits, and the run, resumed
//! (`RunContext::with_journal` with the same run id) in this process or another, waits only for
//! what is left. A signal is sent with [`Journal::send_signal`] (from any process using the same
//! store); a wait whose signal was sent before the resume ends at once. Outside a journaled run
//! these tools fail: there is nowhere to keep what they wait for.

use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ToolError;
use crate::journal::{IdempotencyKey, Journal, RunId};
use crate::tool::{CallTool, Tool};

/// How often a waiting step asks its journal whether its signal arrived.
pub const POLL: Duration = Duration::from_millis(50);

/// Waits for the signal `name` of the run, for at most `timeout_secs` seconds from the first time
/// the step started; its output is the signal's payload. Past the timeout it fails with the
/// class `timeout`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_camel_case_types)]
pub struct wait_for_signal {
    /// The signal's name.
    pub name: String,
    /// How long to wait, in seconds.
    pub timeout_secs: u64,
}

/// Waits until `secs` seconds have passed since the first time the step started.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_camel_case_types)]
pub struct sleep_for {
    /// How long, in seconds.
    pub secs: u64,
}

impl JsonSchema for wait_for_signal {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "wait_for_signal".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let fields = vec![
            ("name", generator.subschema_for::<String>()),
            ("timeout_secs", generator.subschema_for::<u64>()),
        ];
        crate::schema::object_schema(<Self as Tool>::DESCRIPTION, fields, true)
    }
}

impl JsonSchema for sleep_for {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "sleep_for".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        crate::schema::object_schema(
            <Self as Tool>::DESCRIPTION,
            vec![("secs", generator.subschema_for::<u64>())],
            true,
        )
    }
}

impl Tool for wait_for_signal {
    type Output = Value;
    const NAME: &'static str = "wait_for_signal";
    const DESCRIPTION: &'static str =
        "Wait for a named signal of the run (a human's approval, say), up to a timeout; returns its payload.";

    fn arguments_json(&self) -> Value {
        serde_json::json!({ "name": self.name, "timeout_secs": self.timeout_secs })
    }
}

impl Tool for sleep_for {
    type Output = ();
    const NAME: &'static str = "sleep_for";
    const DESCRIPTION: &'static str =
        "Wait a number of seconds, counted from the step's first start, across restarts.";

    fn arguments_json(&self) -> Value {
        serde_json::json!({ "secs": self.secs })
    }
}

/// The run's journal and the wait's start, recorded on its first call.
async fn began(tool: &str) -> Result<(std::sync::Arc<dyn Journal>, RunId, u64), ToolError> {
    let Some((journal, run)) = crate::exec::journaled::current_run() else {
        return Err(ToolError::permanent(format!(
            "`{tool}` waits durably and needs a journaled run: give the run a journal with `RunContext::with_journal`"
        )));
    };
    let key = IdempotencyKey::current();
    let began = journal
        .wait_began(&run, key.as_str(), crate::journal::now_ms())
        .await
        .map_err(|e| ToolError::permanent(e.to_string()))?;
    Ok((journal, run, began))
}

/// How long is left of `total` since `began` (milliseconds since the Unix epoch).
fn left(began: u64, total: Duration) -> Duration {
    let elapsed = Duration::from_millis(crate::journal::now_ms().saturating_sub(began));
    total.saturating_sub(elapsed)
}

impl<S: ?Sized + Sync> CallTool<S> for wait_for_signal {
    async fn call(self, _state: &S) -> Result<Value, ToolError> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let (journal, run, began) = began(Self::NAME).await?;
        loop {
            if let Some(payload) =
                journal.signal(&run, &self.name).await.map_err(|e| ToolError::retryable(e.to_string()))?
            {
                return Ok(payload);
            }
            let remaining = left(began, timeout);
            if remaining.is_zero() {
                return Err(ToolError::permanent(format!(
                    "no signal `{}` arrived within {timeout:?} of the wait's start",
                    self.name
                ))
                .with_class(ToolError::TIMEOUT));
            }
            tokio::time::sleep(remaining.min(POLL)).await;
        }
    }
}

impl<S: ?Sized + Sync> CallTool<S> for sleep_for {
    async fn call(self, _state: &S) -> Result<(), ToolError> {
        let total = Duration::from_secs(self.secs);
        let (_, _, began) = began(Self::NAME).await?;
        tokio::time::sleep(left(began, total)).await;
        Ok(())
    }
}
