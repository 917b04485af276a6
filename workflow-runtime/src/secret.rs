//! [`Secret<T>`]: a value that is used but never shown.

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What is written in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A value a tool needs (a token, a password) that must not be seen: its `Debug` and `Display`
/// print `[REDACTED]`, and it serialises as `"[REDACTED]"`, so it reaches no journal, export,
/// `tracing` output or error message. It deserialises from the plain value, so a model or a
/// run-time workflow passes it as it would a `T`; its JSON schema is `T`'s, marked
/// `"writeOnly": true`.
///
/// A workflow input typed `Secret<T>`, or a `#[tool]` parameter typed `Secret<T>` or marked
/// `#[secret]`, is redacted wherever a run records it.
///
/// ```
/// use workflow::Secret;
///
/// let token: Secret<String> = serde_json::from_str("\"hunter2\"").unwrap();
/// assert_eq!(token.expose(), "hunter2");
/// assert_eq!(format!("{token} {token:?}"), "[REDACTED] [REDACTED]");
/// assert_eq!(serde_json::to_string(&token).unwrap(), "\"[REDACTED]\"");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, to use it (not to print it).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The value's own error would quote it: say only what was expected.
        T::deserialize(deserializer).map(Self).map_err(|_| {
            <D::Error as serde::de::Error>::custom(format!(
                "a secret that is not a valid `{}`",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl<T: JsonSchema> JsonSchema for Secret<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = T::json_schema(generator);
        schema.insert("writeOnly".to_owned(), serde_json::Value::Bool(true));
        schema
    }

    fn inline_schema() -> bool {
        true
    }
}
