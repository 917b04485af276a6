//! Plain HTTP: fetch a JSON document, store one (`PUT`, as object stores and WebDAV take it).

use serde_json::Value;
use workflow::prelude::*;

use crate::api::{ApiError, check};

/// How the HTTP tools reach the web: a client, and the URLs they may call.
#[derive(Clone, Debug)]
pub struct Http {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The prefixes a URL must start with (`https://data.example.com/`); empty lets the tools
    /// call any `http` or `https` URL. Arguments may come from a model: give prefixes.
    pub allow: Vec<String>,
}

impl Http {
    /// The URL, if it is `http(s)` and starts with an allowed prefix.
    fn allowed(&self, url: &str) -> Result<reqwest::Url, ApiError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| ApiError::Invalid(format!("`{url}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ApiError::Invalid(format!("`{url}` is not an http or https URL")));
        }
        if !self.allow.is_empty()
            && !self.allow.iter().any(|prefix| parsed.as_str().starts_with(prefix.as_str()))
        {
            return Err(ApiError::Invalid(format!(
                "`{url}` is outside the allowed URLs ({})",
                self.allow.join(", ")
            )));
        }
        Ok(parsed)
    }
}

/// A JSON document fetched over HTTP.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Fetched {
    /// The HTTP status.
    pub status: u16,
    /// The document.
    pub body: Value,
}

/// Fetch a JSON document with an HTTP GET.
#[tool(read_only = true)]
pub async fn http_get_json(State(http): State<Http>, url: String) -> Result<Fetched, ApiError> {
    let url = http.allowed(&url)?;
    let response =
        check("HTTP", http.http.get(url).header("Accept", "application/json").send().await?).await?;
    let status = response.status().as_u16();
    Ok(Fetched { status, body: response.json().await? })
}

/// Where a document was stored.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Stored {
    /// The HTTP status of the `PUT`.
    pub status: u16,
    /// The URL it was stored at.
    pub url: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Store a JSON document at a URL with an HTTP PUT (an object store, WebDAV, a REST resource).
#[tool]
pub async fn http_put_json(State(http): State<Http>, url: String, body: Value) -> Result<Stored, ApiError> {
    let target = http.allowed(&url)?;
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let size = bytes.len() as u64;
    let request = http.http.put(target).header("Content-Type", "application/json").body(bytes);
    let response = check("HTTP", request.send().await?).await?;
    Ok(Stored { status: response.status().as_u16(), url, bytes: size })
}
