// `#[secret]` on shared state, and with an argument: each error must underline the attribute.
use workflow::prelude::*;

#[derive(Clone)]
pub struct Vault;

/// Read a secret.
#[tool]
pub async fn read(#[secret] State(vault): State<Vault>, #[secret(always)] name: String) -> Result<String, ToolError> {
    let _ = vault;
    Ok(name)
}

fn main() {}
