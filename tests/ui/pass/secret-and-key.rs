// `#[secret]` arguments and an `IdempotencyKey` parameter: the key is not an argument, the secret
// is one (with `"writeOnly": true` in the schema), and a workflow passes both kinds of value.
use workflow::journal::IdempotencyKey;
use workflow::prelude::*;

/// Log in.
#[tool(idempotent = false)]
pub async fn login(key: IdempotencyKey, user: String, #[secret] password: String) -> Result<String, ToolError> {
    Ok(format!("{user}:{}:{}", password.len(), key.is_set()))
}

workflow! {
    /// Log in once.
    pub enter(user: String, password: String) {
        session = login(user: <<user>>, password: <<password>>);
    }
}

fn main() {
    let schema = serde_json::to_value(<login as workflow::Tool>::definition().input_schema).unwrap();
    assert_eq!(schema["properties"]["password"]["writeOnly"], true);
    assert!(schema["properties"].get("key").is_none());
    let args = login { user: "ada".into(), password: "hunter22".into() };
    let json = workflow::Tool::arguments_json(&args);
    assert_eq!(json, serde_json::json!({ "user": "ada", "password": "[REDACTED]" }));
    let _ = enter("ada".into(), "pw".into());
}
