//! `<<step.field>>` into a tool output typed `serde_json::Value`: it compiles, is looked up when
//! the step runs, and a field that is not there fails the step with the reference's text.

use serde_json::{Value, json};
use workflow::prelude::*;

/// Look a customer up (its output is only known as JSON).
#[tool]
async fn find_customer(name: String) -> Result<Value, ToolError> {
    Ok(json!({
        "user": { "id": format!("{name}_1"), "name": name },
        "orders": [{ "order_id": "#W1" }, { "order_id": "#W2" }],
        "tags": { "vip": true }
    }))
}

/// Echo what it was given.
#[tool]
async fn echo(value: Value) -> Result<Value, ToolError> {
    Ok(value)
}

/// Echo a text.
#[tool]
async fn say(text: String) -> Result<String, ToolError> {
    Ok(text)
}

workflow! {
    /// Reads fields, indices and keys of JSON outputs.
    pub json_fields(name: String) {
        customer = find_customer(name: <<name>>);
        id       = echo(value: <<customer.user.id>>);
        first    = echo(value: <<customer.orders[0].order_id>>);
        keyed    = echo(value: <<customer["tags"].vip>>);
        whole    = echo(value: <<customer.user>>);
        nested   = echo(value: <<whole.name>>);
        text     = say(text: "<<customer.user.name>> has <<customer.orders[-1].order_id>>");
    }
}

#[tokio::test]
async fn fields_of_json_outputs_are_read_when_the_step_runs() {
    let run = json_fields("mia".into()).run(&()).await.expect("runs");
    assert_eq!(run.id, json!("mia_1"));
    assert_eq!(run.first, json!("#W1"));
    assert_eq!(run.keyed, json!(true));
    assert_eq!(run.whole, json!({ "id": "mia_1", "name": "mia" }));
    assert_eq!(run.nested, json!("mia"));
    assert_eq!(run.text, "mia has #W2");
}

workflow! {
    /// Reads a field the output does not have.
    pub missing_field(name: String) {
        customer = find_customer(name: <<name>>);
        email    = echo(value: <<customer.user.email>>);
    }
}

#[tokio::test]
async fn a_missing_field_fails_its_step_naming_the_reference() {
    let err = missing_field("mia".into()).run(&()).await.expect_err("no email");
    assert_eq!(err.step, "email");
    let message = err.error.to_string();
    assert_eq!(message, "reference `customer.user.email`: no field `email`; it has `id`, `name`");
    // The step that ran is recorded; the one that failed did not call its tool.
    assert_eq!(err.record.step("customer").map(|s| s.status), Some(StepStatus::Succeeded));
}

workflow! {
    /// Reads a field of a JSON string.
    pub field_of_text(name: String) {
        customer = find_customer(name: <<name>>);
        wrong    = echo(value: <<customer.user.id.length>>);
    }
}

#[tokio::test]
async fn a_field_of_a_value_that_is_not_an_object_says_what_it_found() {
    let err = field_of_text("mia".into()).run(&()).await.expect_err("a string has no fields");
    let message = err.error.to_string();
    assert_eq!(
        message,
        "reference `customer.user.id.length`: cannot read field `length`: expected an object, found a string"
    );
}
