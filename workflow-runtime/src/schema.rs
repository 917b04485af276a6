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

/// `schema` marked `"writeOnly": true`: a secret (`#[secret]`), sent to the tool and never
/// recorded.
pub fn write_only(mut schema: Schema) -> Schema {
    schema.insert("writeOnly".to_owned(), true.into());
    schema
}

/// `schema` with a `description` (a field's doc comment); an empty one leaves it as it is.
pub fn describe(mut schema: Schema, description: &str) -> Schema {
    if !description.is_empty() {
        schema.insert("description".to_owned(), description.into());
    }
    schema
}

/// Whether a value matching `schema` may be `null`.
fn accepts_null(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(map) => {
            if let Some(types) = map.get("type") {
                return match types {
                    Value::String(t) => t == "null",
                    Value::Array(types) => types.iter().any(|t| t == "null"),
                    _ => false,
                };
            }
            let alternatives = ["anyOf", "oneOf"].iter().filter_map(|key| map.get(*key)).collect::<Vec<_>>();
            if !alternatives.is_empty() {
                return alternatives
                    .iter()
                    .filter_map(|alts| alts.as_array())
                    .any(|alts| alts.iter().any(accepts_null));
            }
            // A schema with no constraint on the value's type (e.g. only a description).
            !["$ref", "const", "enum", "not", "allOf"].iter().any(|key| map.contains_key(*key))
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
                ("extra", describe(schema_of::<Value>(), "Anything.")),
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
