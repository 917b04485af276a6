//! Tools for Slack's Web API (`https://api.slack.com/methods`): messages, thread replies, reactions.

use serde_json::{Value, json};
use workflow::prelude::*;

use crate::api::{ApiError, base, check};

/// How to reach Slack's Web API.
#[derive(Clone, Debug)]
pub struct Slack {
    /// The HTTP client (clones share one connection pool).
    pub http: reqwest::Client,
    /// `https://slack.com/api`, or a test server.
    pub base_url: String,
    /// A bot token (`xoxb-…`) allowed to post messages (`chat:write`) and add reactions
    /// (`reactions:write`).
    pub token: String,
}

impl Slack {
    /// Slack's Web API at `base_url` with `token`.
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        Self { http, base_url: base(base_url), token: token.to_owned() }
    }

    /// Calls the method `method` with a JSON body; Slack answers most errors with 200 and
    /// `"ok": false`, which this turns into [`ApiError::Slack`].
    async fn call(&self, method: &str, body: Value) -> Result<Value, ApiError> {
        let url = format!("{}/{method}", self.base_url);
        let response = self.http.post(url).bearer_auth(&self.token).json(&body).send().await?;
        let reply: Value = check("Slack", response).await?.json().await?;
        if reply["ok"] == true {
            return Ok(reply);
        }
        Err(ApiError::Slack(reply["error"].as_str().unwrap_or("unknown_error").to_owned()))
    }
}

/// A message posted on Slack.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct SlackMessage {
    /// The id of the channel it was posted in.
    pub channel: String,
    /// Its timestamp, which is also its id in the channel.
    pub ts: String,
}

/// The channel and timestamp of a `chat.postMessage` answer.
fn posted(reply: &Value) -> Result<SlackMessage, ApiError> {
    match (reply["channel"].as_str(), reply["ts"].as_str()) {
        (Some(channel), Some(ts)) => Ok(SlackMessage { channel: channel.to_owned(), ts: ts.to_owned() }),
        _ => Err(ApiError::Slack("answer without `channel` and `ts`".to_owned())),
    }
}

/// Post a message to a Slack channel (`#name` or a channel id).
#[tool(idempotent = false)]
pub async fn slack_send_message(
    State(slack): State<Slack>,
    channel: String,
    text: String,
) -> Result<SlackMessage, ApiError> {
    posted(&slack.call("chat.postMessage", json!({ "channel": channel, "text": text })).await?)
}

/// Reply in the thread of a Slack message (its channel id and `ts`).
#[tool(idempotent = false)]
pub async fn slack_reply(
    State(slack): State<Slack>,
    channel: String,
    thread_ts: String,
    text: String,
) -> Result<SlackMessage, ApiError> {
    let body = json!({ "channel": channel, "thread_ts": thread_ts, "text": text });
    posted(&slack.call("chat.postMessage", body).await?)
}

/// A reaction added to a message.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Reaction {
    /// The emoji's name, without colons.
    pub name: String,
    /// The message's timestamp.
    pub ts: String,
}

/// Add an emoji reaction (its name without colons, as `eyes`) to a Slack message.
#[tool]
pub async fn slack_add_reaction(
    State(slack): State<Slack>,
    channel: String,
    timestamp: String,
    name: String,
) -> Result<Reaction, ApiError> {
    let body = json!({ "channel": channel, "timestamp": timestamp, "name": name });
    match slack.call("reactions.add", body).await {
        // Adding it again is not a failure: the message has the reaction.
        Ok(_) => Ok(Reaction { name, ts: timestamp }),
        Err(ApiError::Slack(error)) if error == "already_reacted" => Ok(Reaction { name, ts: timestamp }),
        Err(err) => Err(err),
    }
}
