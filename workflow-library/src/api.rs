//! What the HTTP tools share: the error of a call to an API, and how it is classed for retries.

use std::error::Error;
use std::fmt;

use reqwest::{Response, StatusCode};
use serde::Deserialize;
use workflow::ToolError;

/// Why a call to an HTTP API failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request got no usable response: no connection, a timeout, a body that is not the
    /// expected JSON.
    Transport(reqwest::Error),
    /// The API answered with an error status.
    Status {
        /// `GitHub`, `Slack` or `HTTP`.
        api: &'static str,
        /// The status.
        status: StatusCode,
        /// Whether the answer says a rate limit is exhausted.
        rate_limited: bool,
        /// The API's error message, or the body when it has none.
        message: String,
    },
    /// Slack answered `{"ok": false, "error": "…"}`.
    Slack(String),
    /// An argument cannot be sent as it is.
    Invalid(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport(err) => {
                // reqwest's own message leaves the cause (refused, timed out…) to its sources.
                write!(f, "request failed: {err}")?;
                let mut source = err.source();
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            ApiError::Status { api, status, message, .. } => write!(f, "{api} answered {status}: {message}"),
            ApiError::Slack(error) => write!(f, "Slack answered `{error}`"),
            ApiError::Invalid(message) => f.write_str(message),
        }
    }
}

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApiError::Transport(err) => Some(err),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ApiError {
    fn from(err: reqwest::Error) -> Self {
        ApiError::Transport(err)
    }
}

/// Rate limits, server errors and dropped connections are worth retrying (class
/// `rate_limited` for rate limits); the rest is not.
impl From<ApiError> for ToolError {
    fn from(err: ApiError) -> Self {
        let rate_limited = match &err {
            ApiError::Status { status, rate_limited, .. } => {
                *rate_limited || *status == StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Slack(error) => error == "ratelimited",
            _ => false,
        };
        let retryable = rate_limited
            || match &err {
                ApiError::Transport(e) => !(e.is_builder() || e.is_decode()),
                ApiError::Status { status, .. } => status.is_server_error(),
                ApiError::Slack(error) => {
                    matches!(
                        error.as_str(),
                        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout"
                    )
                }
                ApiError::Invalid(_) => false,
            };
        let message = err.to_string();
        let error = match (rate_limited, retryable) {
            (true, _) => ToolError::retryable(message).with_class("rate_limited"),
            (false, true) => ToolError::retryable(message),
            (false, false) => ToolError::permanent(message),
        };
        error.with_source(err)
    }
}

/// Passes a successful response on, and turns an error status into an [`ApiError`].
pub(crate) async fn check(api: &'static str, response: Response) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // GitHub reports an exhausted rate limit as 403 with `x-ratelimit-remaining: 0`.
    let rate_limited = response.headers().get("x-ratelimit-remaining").is_some_and(|v| v == "0");
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&body).map_or(body, |b| b.message);
    Err(ApiError::Status { api, status, rate_limited, message })
}

/// A base URL without its trailing `/`, so that paths can be appended.
pub(crate) fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}
