//! Schema helpers used by `#[derive(ToolOutput)]` and `#[tool]`.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};

/// The JSON schema of an object, from its fields' names and schemas.
///
/// A field whose schema accepts `null` (an `Option`, a `serde_json::Value`) may be absent, as
/// serde allows; every other field is required. With `closed`, other properties are rejected
/// (`additionalProperties: false`), as `#[serde(deny_unknown_fields)]` does.
pub fn object_schema(description: &str, fields: Vec<(&str, Schema)>, closed: bool) -> Schema {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema) in fields {
        if !accepts_null(schema.as_value()) {
            required.push(Value::String(name.to_owned()));
        }
        properties.insert(name.to_owned(), schema.to_value());
    }
    let mut object = Map::new();
    object.insert("type".into(), "object".into());
    if !description.is_empty() {
        object.insert("description".into(), description.into());
    }
    object.insert("properties".into(), Value::Object(properties));
    object.insert("required".into(), Value::Array(required));
    if closed {
        object.insert("additionalProperties".into(), false.into());
    }
    Schema::from(object)
}

/// The schema of a field of type `T`, registered in the generator.
pub fn field_schema<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Whether a value matching `schema` may be `null`.
fn accepts_null(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(map) => {
            let typed_null = match map.get("type") {
                Some(Value::String(t)) => t == "null",
                Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
                Some(_) => false,
                None => map.is_empty(),
            };
            let any_null = ["anyOf", "oneOf"].iter().any(|key| {
                map.get(*key).and_then(Value::as_array).is_some_and(|alts| alts.iter().any(accepts_null))
            });
            typed_null || any_null || map.get("nullable") == Some(&Value::Bool(true))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of<T: JsonSchema>() -> Schema {
        field_schema::<T>(&mut SchemaGenerator::default())
    }

    #[test]
    fn optional_and_json_fields_are_not_required() {
        let schema = object_schema(
            "A thing.",
            vec![
                ("name", schema_of::<String>()),
                ("note", schema_of::<Option<String>>()),
                ("extra", schema_of::<Value>()),
                ("tags", schema_of::<Vec<String>>()),
            ],
            true,
        );
        let value = schema.to_value();
        assert_eq!(value["required"], serde_json::json!(["name", "tags"]));
        assert_eq!(value["additionalProperties"], false);
        assert_eq!(value["description"], "A thing.");
        assert_eq!(value["properties"]["name"]["type"], "string");
    }
}
