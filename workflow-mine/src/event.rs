//! One tool call of a usage log, as a line of JSON: read borrowed for counting, owned when its
//! arguments and result are needed.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::BadReason;

/// One tool call: a line of a usage log.
///
/// `session_id`, `seq`, `tool_name`, `parameters` (an object), `result` (any JSON) and
/// `success` are required; `timestamp` (text or a number), `duration_ms` and `source` may be
/// `null` or left out. Other keys are ignored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// The session (conversation, run) the call belongs to.
    pub session_id: String,
    /// The call's place in its session.
    pub seq: u64,
    /// The tool called.
    pub tool_name: String,
    /// Its arguments.
    pub parameters: Map<String, Value>,
    /// What it returned.
    pub result: Value,
    /// Whether it succeeded.
    pub success: bool,
}

/// An event as read from its line, borrowing the line's text.
#[derive(Deserialize)]
pub(crate) struct RawEvent<'a> {
    #[serde(borrow)]
    pub session_id: Cow<'a, str>,
    pub seq: u64,
    #[serde(default, borrow)]
    pub timestamp: Option<&'a RawValue>,
    #[serde(borrow)]
    pub tool_name: Cow<'a, str>,
    #[serde(borrow)]
    pub parameters: &'a RawValue,
    #[serde(borrow)]
    pub result: &'a RawValue,
    pub success: bool,
    #[serde(default)]
    #[allow(dead_code)]
    pub duration_ms: Option<f64>,
    /// Text or `null`; read unparsed (serde would copy an `Option<Cow<str>>` into a `String`
    /// for every line), and only checked.
    #[serde(default, borrow)]
    pub source: Option<&'a RawValue>,
}

impl<'a> RawEvent<'a> {
    /// The event of a line (without its newline); `last` when the line ended the file without a
    /// newline, so that a JSON cut short is told apart as a truncated line.
    pub fn parse(line: &'a str, last: bool) -> Result<Self, BadReason> {
        let first = line.trim_start().as_bytes().first().copied();
        if first != Some(b'{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(line) {
                Ok(_) => BadReason::NotAnObject(kind_of(first)),
                Err(e) if last && e.classify() == serde_json::error::Category::Eof => {
                    BadReason::Truncated(e.to_string())
                }
                Err(e) => BadReason::InvalidJson(e.to_string()),
            });
        }
        let event: RawEvent<'a> = serde_json::from_str(line).map_err(|e| match e.classify() {
            serde_json::error::Category::Eof if last => BadReason::Truncated(e.to_string()),
            serde_json::error::Category::Data => BadReason::Field(e.to_string()),
            _ => BadReason::InvalidJson(e.to_string()),
        })?;
        if !event.parameters.get().starts_with('{') {
            let kind = kind_of(event.parameters.get().as_bytes().first().copied());
            return Err(BadReason::Field(format!("`parameters` must be an object, found {kind}")));
        }
        if let Some(source) = event.source.filter(|s| !s.get().starts_with('"')) {
            let kind = kind_of(source.get().as_bytes().first().copied());
            if kind != "null" {
                return Err(BadReason::Field(format!("`source` must be text or null, found {kind}")));
            }
        }
        if let Some(t) = event.timestamp {
            let b = t.get().as_bytes().first().copied();
            if !matches!(b, Some(b'"' | b'-' | b'0'..=b'9')) {
                return Err(BadReason::Field(format!(
                    "`timestamp` must be text, a number or null, found {}",
                    kind_of(b)
                )));
            }
        }
        Ok(event)
    }

    /// The sorted, comma-separated keys of the arguments: the shape of the call.
    pub fn parameter_keys(&self) -> String {
        let keys: Result<std::collections::BTreeMap<String, serde::de::IgnoredAny>, _> =
            serde_json::from_str(self.parameters.get());
        keys_shape(keys.iter().flat_map(|m| m.keys()))
    }

    /// The owned event, its arguments and result read as JSON values.
    pub fn to_event(&self) -> Result<Event, BadReason> {
        let parameters =
            serde_json::from_str(self.parameters.get()).map_err(|e| BadReason::Field(e.to_string()))?;
        let result = serde_json::from_str(self.result.get()).map_err(|e| BadReason::Field(e.to_string()))?;
        Ok(Event {
            session_id: self.session_id.clone().into_owned(),
            seq: self.seq,
            tool_name: self.tool_name.clone().into_owned(),
            parameters,
            result,
            success: self.success,
        })
    }
}

/// Keys, sorted and joined by commas.
pub(crate) fn keys_shape<'k>(keys: impl Iterator<Item = &'k String>) -> String {
    let mut keys: Vec<&str> = keys.map(String::as_str).collect();
    keys.sort_unstable();
    keys.join(",")
}

/// What a JSON value that starts with `byte` is, for messages.
fn kind_of(byte: Option<u8>) -> &'static str {
    match byte {
        None => "nothing",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        Some(_) => "text that is not JSON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"session_id":"s","seq":0,"timestamp":null,"tool_name":"t","parameters":{"b":1,"a":"x"},"result":{"k":[1]},"success":true,"duration_ms":null,"source":"x"}"#;

    #[test]
    fn a_good_line_reads_with_its_shape() {
        let e = RawEvent::parse(GOOD, false).unwrap();
        assert_eq!((e.session_id.as_ref(), e.seq, e.tool_name.as_ref(), e.success), ("s", 0, "t", true));
        assert_eq!(e.parameter_keys(), "a,b");
        assert_eq!(e.to_event().unwrap().result, serde_json::json!({"k": [1]}));
    }

    #[test]
    fn optional_fields_may_be_left_out() {
        let line =
            r#"{"session_id":"s","seq":3,"tool_name":"t","parameters":{},"result":null,"success":false}"#;
        assert_eq!(RawEvent::parse(line, false).unwrap().seq, 3);
    }

    #[test]
    fn each_kind_of_bad_line_has_its_reason() {
        let reason = |line: &str, last| RawEvent::parse(line, last).err().map(|r| r.to_string());
        assert_eq!(reason("[1, 2]", false).unwrap(), "expected a JSON object, found an array");
        assert_eq!(reason("hello", false).unwrap(), "invalid JSON: expected value at line 1 column 1");
        assert_eq!(reason("null", false).unwrap(), "expected a JSON object, found null");
        assert!(reason(r#"{"session_id": "s", "#, false).unwrap().starts_with("invalid JSON: EOF"));
        assert!(reason(r#"{"session_id": "s", "#, true).unwrap().starts_with("truncated last line"));
        assert!(reason("{\"a\" 1}", false).unwrap().starts_with("invalid JSON: expected `:`"));
        let missing = GOOD.replace(r#""tool_name":"t","#, "");
        assert!(reason(&missing, false).unwrap().starts_with("bad event: missing field `tool_name`"));
        let wrong = GOOD.replace(r#""seq":0"#, r#""seq":"0""#);
        assert!(
            reason(&wrong, false).unwrap().starts_with("bad event: invalid type: string \"0\", expected u64")
        );
        let negative = GOOD.replace(r#""seq":0"#, r#""seq":-1"#);
        assert!(reason(&negative, false).unwrap().starts_with("bad event: invalid value: integer `-1`"));
        let params = GOOD.replace(r#"{"b":1,"a":"x"}"#, "[1]");
        assert_eq!(
            reason(&params, false).unwrap(),
            "bad event: `parameters` must be an object, found an array"
        );
        let stamp = GOOD.replace(r#""timestamp":null"#, r#""timestamp":true"#);
        assert_eq!(
            reason(&stamp, false).unwrap(),
            "bad event: `timestamp` must be text, a number or null, found a boolean"
        );
        let success = GOOD.replace(r#""success":true"#, r#""success":"yes""#);
        assert!(
            reason(&success, false)
                .unwrap()
                .starts_with("bad event: invalid type: string \"yes\", expected a boolean")
        );
    }
}
