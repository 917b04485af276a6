//! Declared inputs: the JSON type a Rust type name asks for, and the check of a run's inputs
//! before any tool is called.

use serde_json::{Map, Value};
use workflow_core::suggest::did_you_mean;

use super::{Plan, Problem, Problems};

/// The JSON a declared input's type accepts, read from its Rust type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputType {
    /// `String`, `&str`, `char`, `PathBuf`.
    Text,
    /// A signed integer type.
    Integer,
    /// An unsigned integer type: an integer from zero.
    Unsigned,
    /// `f32`, `f64`.
    Number,
    /// `bool`.
    Bool,
    /// `Vec<T>`, `VecDeque<T>`, `HashSet<T>`, `[T; N]`: a list of `T`.
    List(Box<InputType>),
    /// `HashMap<String, T>`, `BTreeMap<String, T>`: an object.
    Map,
    /// `Option<T>`: `T`, `null`, or left out.
    Optional(Box<InputType>),
    /// `serde_json::Value`, a type of the user's, or no type: anything.
    Any,
}

impl InputType {
    /// The type a written Rust type asks for (`None`: no type given).
    ///
    /// ```
    /// use workflow::validate::InputType;
    /// assert_eq!(InputType::parse(Some("Vec<u64>")), InputType::List(Box::new(InputType::Unsigned)));
    /// assert_eq!(InputType::parse(Some("std::path::PathBuf")), InputType::Text);
    /// ```
    pub fn parse(ty: Option<&str>) -> Self {
        let Some(ty) = ty else { return InputType::Any };
        let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
        let ty = ty.trim_start_matches('&');
        let (head, arg) = match ty.split_once('<') {
            Some((head, rest)) => (head, rest.strip_suffix('>')),
            None => (ty, None),
        };
        let last = head.rsplit("::").next().unwrap_or(head);
        let inner = || Box::new(InputType::parse(arg));
        match last {
            "String" | "str" | "char" | "PathBuf" | "Path" => InputType::Text,
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => InputType::Integer,
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => InputType::Unsigned,
            "f32" | "f64" => InputType::Number,
            "bool" => InputType::Bool,
            "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => InputType::List(inner()),
            "HashMap" | "BTreeMap" => InputType::Map,
            "Option" => InputType::Optional(inner()),
            _ => InputType::Any,
        }
    }

    /// Whether `value` is of this type.
    pub fn accepts(&self, value: &Value) -> bool {
        match self {
            InputType::Text => value.is_string(),
            InputType::Integer => value.is_i64() || value.is_u64(),
            InputType::Unsigned => value.is_u64(),
            InputType::Number => value.is_number(),
            InputType::Bool => value.is_boolean(),
            InputType::List(item) => {
                value.as_array().is_some_and(|items| items.iter().all(|v| item.accepts(v)))
            }
            InputType::Map => value.is_object(),
            InputType::Optional(inner) => value.is_null() || inner.accepts(value),
            InputType::Any => true,
        }
    }

    /// What this type is, in a message: "a string", "a list of integers from 0"…
    pub fn describe(&self) -> String {
        match self {
            InputType::Text => "a string".into(),
            InputType::Integer => "an integer".into(),
            InputType::Unsigned => "an integer from 0".into(),
            InputType::Number => "a number".into(),
            InputType::Bool => "a boolean".into(),
            InputType::List(item) => format!("a list of {}", item.plural()),
            InputType::Map => "an object".into(),
            InputType::Optional(inner) => format!("{} or null", inner.describe()),
            InputType::Any => "any value".into(),
        }
    }

    /// Values of this type, in a message: "strings", "integers from 0"…
    fn plural(&self) -> String {
        match self {
            InputType::Text => "strings".into(),
            InputType::Integer => "integers".into(),
            InputType::Unsigned => "integers from 0".into(),
            InputType::Number => "numbers".into(),
            InputType::Bool => "booleans".into(),
            InputType::List(item) => format!("lists of {}", item.plural()),
            InputType::Map => "objects".into(),
            InputType::Optional(inner) => format!("{} or nulls", inner.plural()),
            InputType::Any => "values".into(),
        }
    }
}

/// Checks a run's inputs before any tool is called: they are an object; with declared inputs,
/// every one is given (unless `Option`), has its type, and nothing else is given; without, every
/// name the workflow reads is given. No input may have a step's name: an input never stands in
/// for a step's output.
pub(crate) fn check(plan: &Plan, inputs: &Value) -> Result<(), Problems> {
    let steps = &plan.index;
    let Value::Object(given) = inputs else {
        let kind = crate::template::eval::kind(inputs);
        return Err(one(format!("the inputs must be a JSON object of named values, found {kind}")));
    };
    let mut problems = Vec::new();
    for name in given.keys().filter(|k| steps.contains_key(k.as_str())) {
        problems.push(Problem::new(
            None,
            Some("inputs"),
            format!("input `{name}` has the name of a step; an input cannot stand in for a step's output"),
        ));
    }
    match &plan.inputs {
        Some(declared) => check_declared(declared, given, &mut problems),
        None => {
            for name in plan.implicit_inputs.iter().filter(|n| !given.contains_key(*n)) {
                // In a fixed order, so that a tie between two close names is decided the same way.
                let mut names: Vec<&str> = steps.keys().chain(given.keys()).map(String::as_str).collect();
                names.sort_unstable();
                let hint = did_you_mean(name, names).unwrap_or_default();
                problems.push(Problem::new(
                    None,
                    Some("inputs"),
                    format!("unknown step or input `{name}`{hint}: the workflow reads it, and the inputs do not give it"),
                ));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Problems(problems)) }
}

fn check_declared(declared: &[(String, InputType)], given: &Map<String, Value>, problems: &mut Vec<Problem>) {
    for (name, ty) in declared {
        match given.get(name) {
            None if matches!(ty, InputType::Optional(_)) => {}
            None => problems.push(Problem::new(
                None,
                Some("inputs"),
                format!("missing input `{name}` ({})", ty.describe()),
            )),
            Some(value) if !ty.accepts(value) => problems.push(Problem::new(
                None,
                Some("inputs"),
                format!(
                    "input `{name}` must be {}, found {}",
                    ty.describe(),
                    crate::template::eval::kind(value)
                ),
            )),
            Some(_) => {}
        }
    }
    for name in given.keys().filter(|k| !declared.iter().any(|(d, _)| d == *k)) {
        let hint = did_you_mean(name, declared.iter().map(|(d, _)| d.as_str())).unwrap_or_else(|| {
            format!(
                "; the inputs are {}",
                workflow_core::suggest::list(declared.iter().map(|(d, _)| d.as_str()))
            )
        });
        problems.push(Problem::new(None, Some("inputs"), format!("unknown input `{name}`{hint}")));
    }
}

fn one(message: String) -> Problems {
    Problems(vec![Problem::new(None, Some("inputs"), message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_from_rust_names() {
        assert_eq!(
            InputType::parse(Some("Option<Vec<String>>")),
            InputType::Optional(Box::new(InputType::List(Box::new(InputType::Text))))
        );
        assert!(InputType::parse(Some("u32")).accepts(&serde_json::json!(3)));
        assert!(!InputType::parse(Some("u32")).accepts(&serde_json::json!(-3)));
        assert!(!InputType::parse(Some("String")).accepts(&serde_json::json!(3)));
        assert!(InputType::parse(Some("MyType")).accepts(&serde_json::json!({})));
        assert_eq!(InputType::parse(Some("Vec<u64>")).describe(), "a list of integers from 0");
    }
}
