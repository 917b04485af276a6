//! Schema helpers used by `#[derive(ToolOutput)]`.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};

/// The JSON schema of an object, from its fields' schemas.
///
/// `fields` holds each field's serialised name, schema, and whether it must be present.
pub fn object_schema(description: Option<&str>, fields: Vec<(&str, Schema, bool)>) -> Schema {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema, is_required) in fields {
        properties.insert(name.to_owned(), schema.to_value());
        if is_required {
            required.push(Value::String(name.to_owned()));
        }
    }
    let mut object = Map::new();
    object.insert("type".into(), "object".into());
    if let Some(description) = description.filter(|d| !d.is_empty()) {
        object.insert("description".into(), description.into());
    }
    object.insert("properties".into(), Value::Object(properties));
    object.insert("required".into(), Value::Array(required));
    Schema::from(object)
}

/// The schema of a field of type `T`, registered in the generator.
pub fn field_schema<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}
