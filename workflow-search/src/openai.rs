//! [`ChatPlanner`]: a planner that asks an OpenAI-compatible chat completions endpoint.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{Value, json};
use workflow_runtime::WorkflowTemplate;

use crate::plan::{PlanError, Planned, Planner};
use crate::{ToolDoc, ToolIndex};

/// How many of the index's best tools for a description the model is shown.
const SHOWN: usize = 12;

/// Asks a chat model (any OpenAI-compatible `POST {base_url}/chat/completions`: OpenAI, a local
/// vLLM or Ollama server…) for a workflow, showing it the tools the index finds for the
/// description; its answer must be a `WorkflowTemplate` as JSON that calls only those tools and
/// passes the validator's rules.
#[derive(Debug, Clone)]
pub struct ChatPlanner {
    http: reqwest::Client,
    base_url: String,
    model: String,
    api_key: Option<String>,
}

impl ChatPlanner {
    /// A planner asking `model` at `base_url` (`https://api.openai.com/v1`), with a 60 s limit per
    /// request.
    pub fn new(base_url: &str, model: &str) -> Result<Self, PlanError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| PlanError::Planner(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::with_client(http, base_url, model))
    }

    /// The same, over `http`.
    pub fn with_client(http: reqwest::Client, base_url: &str, model: &str) -> Self {
        ChatPlanner {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: None,
        }
    }

    /// Sends `key` as a bearer token.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    async fn ask(&self, name: &str, description: &str, tools: &ToolIndex) -> Result<Planned, PlanError> {
        let shown: Vec<&ToolDoc> = tools.search(description, SHOWN).into_iter().map(|h| h.tool).collect();
        if shown.is_empty() {
            return Err(PlanError::NoTool(description.to_owned()));
        }
        let catalog: Vec<Value> = shown
            .iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "parameters": t.parameters, "output_fields": t.outputs }))
            .collect();
        let system = format!(
            "You plan tool workflows. Answer with one JSON object and nothing else: a workflow \
             {{\"name\": \"{name}\", \"steps\": [{{\"step_id\": …, \"tool_name\": …, \"parameters\": {{…}}}}]}}. \
             Use only these tools: {}. A parameter is a JSON value or a template: \"{{{{input}}}}\" for \
             an input of the workflow, \"{{{{step_id.field}}}}\" for a field of an earlier step's output.",
            Value::Array(catalog)
        );
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": description },
            ],
        });
        let mut request = self.http.post(format!("{}/chat/completions", self.base_url)).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let failed = |e: reqwest::Error| PlanError::Planner(format!("{}: {e}", self.base_url));
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(failed)?;
        if !status.is_success() {
            let message = answer["error"]["message"].as_str().unwrap_or("no message");
            return Err(PlanError::Planner(format!("{} answered {status}: {message}", self.base_url)));
        }
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| PlanError::Planner("the answer has no `choices[0].message.content`".to_owned()))?;
        let json = strip_fence(content);
        let mut template = WorkflowTemplate::from_json(json)
            .map_err(|e| PlanError::Planner(format!("the model's workflow is not a workflow: {e}")))?;
        template.name = name.to_owned();
        if template.description.is_empty() {
            template.description = description.to_owned();
        }
        if let Some(step) = template.steps.iter().find(|s| !shown.iter().any(|t| t.name == s.tool_name)) {
            return Err(PlanError::Planner(format!(
                "the model's step `{}` calls `{}`, which is not one of the tools it was shown",
                step.step_id, step.tool_name
            )));
        }
        workflow_runtime::validate::plan(&template)
            .map_err(|p| PlanError::Planner(format!("the model's workflow breaks the rules: {p}")))?;
        let dsl = crate::plan::dsl(&template);
        Ok(Planned { template, dsl })
    }
}

/// The JSON inside a Markdown code fence, as models often answer.
fn strip_fence(content: &str) -> &str {
    let trimmed = content.trim();
    match trimmed.strip_prefix("```") {
        Some(rest) => {
            let body = rest.split_once('\n').map_or("", |(_, b)| b);
            body.trim_end().strip_suffix("```").unwrap_or(body).trim()
        }
        None => trimmed,
    }
}

impl Planner for ChatPlanner {
    fn plan<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        tools: &'a ToolIndex,
    ) -> Pin<Box<dyn Future<Output = Result<Planned, PlanError>> + Send + 'a>> {
        Box::pin(self.ask(name, description, tools))
    }
}

#[cfg(test)]
mod tests {
    use super::strip_fence;

    #[test]
    fn fenced_json_is_unwrapped() {
        assert_eq!(strip_fence("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(strip_fence("  {\"a\": 1} "), "{\"a\": 1}");
    }
}
