//! What output and input schemas say about a value: its JSON type, and the fields a reference
//! may walk into.

use serde_json::Value;
use workflow_core::ast::Segment;
use workflow_core::suggest::{closest, list};

/// The JSON type a schema asks for, when `value` is not of it.
pub(super) fn type_mismatch(schema: &Value, value: &Value) -> Option<String> {
    let types: Vec<&str> = match schema.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let ok = types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    });
    (!ok).then(|| {
        let names: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "integer" => "an integer".to_owned(),
                "array" => "a list".to_owned(),
                "object" | "integer " => format!("an {t}"),
                other => format!("a {other}"),
            })
            .collect();
        names.join(" or ")
    })
}

/// Follows `segments` through an output schema; `Err` names the first segment it lacks.
pub(super) fn walk_schema<'a>(
    root: &'a Value,
    name: &str,
    segments: &[Segment],
) -> Result<Option<&'a Value>, String> {
    let defs = root.get("$defs").and_then(Value::as_object);
    let mut schema = root;
    let mut walked = name.to_owned();
    for segment in segments {
        schema = deref(schema, defs);
        let object = match schema {
            Value::Object(o) => o,
            _ => return Ok(None), // `true`: anything goes
        };
        let ty = object.get("type").and_then(Value::as_str);
        match segment {
            Segment::Field(field) | Segment::Key(field) => {
                let Some(properties) = object.get("properties").and_then(Value::as_object) else {
                    return match ty {
                        Some("object") | None => Ok(None),
                        Some(other) => Err(format!(
                            "`{walked}` is a {other}, not an object, so it has no field `{field}`"
                        )),
                    };
                };
                match properties.get(field) {
                    Some(next) => schema = next,
                    None if object.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) => {
                        return Ok(None);
                    }
                    None => {
                        let hint = closest(field, properties.keys().map(String::as_str))
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_else(|| {
                                let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                                format!("; its fields are {}", list(names))
                            });
                        return Err(format!("`{walked}` has no field `{field}`{hint}"));
                    }
                }
                walked.push('.');
                walked.push_str(field);
            }
            Segment::Index(i) => {
                match (ty, object.get("items")) {
                    (_, Some(items)) => schema = items,
                    (Some("array"), None) | (None, None) => return Ok(None),
                    (Some(other), None) => {
                        return Err(format!(
                            "`{walked}` is a {other}, not a list, so `[{i}]` cannot index it"
                        ));
                    }
                }
                walked.push_str(&format!("[{i}]"));
            }
        }
    }
    Ok(Some(deref(schema, defs)))
}

/// The JSON type a schema gives, when it gives exactly one.
pub(super) fn single_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

/// Resolves a `$ref` into `$defs`, and a nullable `anyOf` to its non-null branch.
fn deref<'a>(schema: &'a Value, defs: Option<&'a serde_json::Map<String, Value>>) -> &'a Value {
    let mut schema = schema;
    for _ in 0..8 {
        if let Some(name) =
            schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
        {
            match defs.and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => return schema,
            }
        } else if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
            match alts.iter().find(|a| a.get("type") != Some(&Value::String("null".into()))) {
                Some(alt) => schema = alt,
                None => return schema,
            }
        } else {
            return schema;
        }
    }
    schema
}
