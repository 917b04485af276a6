//! Run-time parts of `<<step.path>>` references: list indexing, map keys, text interpolation.
//!
//! Field access (`<<step.field>>`) into a typed output is plain Rust field access, checked by
//! the compiler; into a `serde_json::Value` it is looked up when the step runs ([`Fields`],
//! [`Json`]). Indexing and keys go through [`Indexable`] and [`Keyed`], so that an index out of
//! range or a missing field fails the step with an error naming the reference instead of
//! panicking.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::{Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible, Serializer};
use serde_json::Value;

use crate::error::StepError;
use crate::template::eval::write_text;

/// A type whose fields are Rust fields, which a `<<step.field>>` reference reads as such: every
/// [`ToolOutput`](crate::ToolOutput) except `serde_json::Value` (derived outputs implement it).
pub trait StaticFields {}

/// How a `<<step.field>>` reference reads a field: as a Rust field of a typed output (checked by
/// the compiler), or, in a `serde_json::Value`, by looking the key up when the step runs.
///
/// `workflow!` writes `Fields::wf_fields(&place, |json| …)?.field`: a typed output hands back
/// itself, so `.field` is its own field; JSON hands `dynamic` its value, which looks the field up
/// and returns a struct with a field of that name holding a [`Json`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no fields that a `<<step.field>>` reference can read",
    label = "read as a field here",
    note = "a field reference reads a struct that derives `ToolOutput`, or a `serde_json::Value`"
)]
pub trait Fields {
    /// What `.field` is applied to.
    type Target<'a, D>
    where
        Self: 'a;

    /// The value to read the field of.
    fn wf_fields<'a, D>(
        &'a self,
        dynamic: impl FnOnce(&'a Value) -> Result<D, StepError>,
    ) -> Result<Self::Target<'a, D>, StepError>;
}

impl<T: StaticFields + ?Sized> Fields for T {
    type Target<'a, D>
        = &'a T
    where
        T: 'a;

    #[inline]
    fn wf_fields<'a, D>(
        &'a self,
        _: impl FnOnce(&'a Value) -> Result<D, StepError>,
    ) -> Result<&'a T, StepError> {
        Ok(self)
    }
}

impl Fields for Value {
    type Target<'a, D> = D;

    fn wf_fields<'a, D>(
        &'a self,
        dynamic: impl FnOnce(&'a Value) -> Result<D, StepError>,
    ) -> Result<D, StepError> {
        dynamic(self)
    }
}

impl Fields for Json<'_> {
    type Target<'a, D>
        = D
    where
        Self: 'a;

    fn wf_fields<'a, D>(
        &'a self,
        dynamic: impl FnOnce(&'a Value) -> Result<D, StepError>,
    ) -> Result<D, StepError> {
        dynamic(self.0)
    }
}

/// A part of a `serde_json::Value` output that a reference named by field (`<<step.user.id>>`).
/// A whole reference passes it on as an owned `serde_json::Value`.
#[derive(Debug, PartialEq)]
pub struct Json<'v>(pub &'v Value);

impl Json<'_> {
    /// An owned copy of the value, as a whole `<<step.field>>` argument passes it.
    pub fn wf_own(&self) -> Value {
        self.0.clone()
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

// Not listed among the types that can be indexed: users write `serde_json::Value`.
#[diagnostic::do_not_recommend]
impl Indexable for Json<'_> {
    type Item = Value;
    fn at(&self, index: i64) -> Result<&Value, String> {
        self.0.at(index)
    }
}

#[diagnostic::do_not_recommend]
impl Keyed for Json<'_> {
    type Item = Value;
    fn key(&self, key: &str) -> Result<&Value, String> {
        self.0.key(key)
    }
}

/// The field `name` of a JSON object, for a `<<step.field>>` reference into a
/// `serde_json::Value`; a missing field, or a value that is not an object, fails the step with
/// the reference's text.
pub fn field<'v>(value: &'v Value, name: &str, path: &'static str) -> Result<Json<'v>, StepError> {
    value.key(name).map(Json).map_err(|reason| {
        let reason = match value {
            Value::Object(map) if map.is_empty() => format!("no field `{name}`: the object is empty"),
            Value::Object(map) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                format!(
                    "no field `{name}`{}",
                    workflow_core::suggest::did_you_mean(name, keys.iter().copied()).unwrap_or_else(
                        || format!("; it has {}", workflow_core::suggest::list(keys.iter().copied()))
                    )
                )
            }
            _ => reason
                .replace("expected an object", &format!("cannot read field `{name}`: expected an object")),
        };
        StepError::Reference { path: Cow::Borrowed(path), reason }
    })
}

/// A list that a `<<step.items[i]>>` reference can index.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list, so it cannot be indexed with `[…]`",
    label = "indexed here",
    note = "`[i]` applies to `Vec`, slices, `VecDeque` and `serde_json::Value` arrays; remove the index or reference a list field"
)]
pub trait Indexable {
    /// The element type.
    type Item: ?Sized;
    /// The element at `index`, counting from the end when negative.
    fn at(&self, index: i64) -> Result<&Self::Item, String>;
}

fn position(index: i64, len: usize) -> Result<usize, String> {
    let resolved =
        if index < 0 { i64::try_from(len).ok().and_then(|l| l.checked_add(index)) } else { Some(index) };
    resolved
        .and_then(|i| usize::try_from(i).ok())
        .filter(|&i| i < len)
        .ok_or_else(|| format!("index {index} is out of range for a list of {len} items"))
}

impl<T> Indexable for [T] {
    type Item = T;
    fn at(&self, index: i64) -> Result<&T, String> {
        Ok(&self[position(index, self.len())?])
    }
}

impl<T> Indexable for Vec<T> {
    type Item = T;
    fn at(&self, index: i64) -> Result<&T, String> {
        self.as_slice().at(index)
    }
}

impl<T> Indexable for VecDeque<T> {
    type Item = T;
    fn at(&self, index: i64) -> Result<&T, String> {
        let i = position(index, self.len())?;
        self.get(i).ok_or_else(|| format!("index {index} is out of range"))
    }
}

impl Indexable for Value {
    type Item = Value;
    fn at(&self, index: i64) -> Result<&Value, String> {
        match self {
            Value::Array(items) => items.as_slice().at(index),
            other => Err(format!("expected a list, found {}", crate::template::eval::kind(other))),
        }
    }
}

/// A list that `for item in <<…>>` can run a step over.
#[diagnostic::on_unimplemented(
    message = "`for … in` needs a list, and `{Self}` is not one",
    label = "not a list",
    note = "`for item in <<…>>` runs over a `Vec`, a slice, a `VecDeque` or a `serde_json::Value` array"
)]
pub trait Items {
    /// The element type.
    type Item;
    /// The elements, in order; `path` names the reference for the error of a JSON value that
    /// is not a list.
    fn wf_items(&self, path: &'static str) -> Result<Vec<&Self::Item>, StepError>;
}

impl<T> Items for [T] {
    type Item = T;
    fn wf_items(&self, _: &'static str) -> Result<Vec<&T>, StepError> {
        Ok(self.iter().collect())
    }
}

impl<T> Items for Vec<T> {
    type Item = T;
    fn wf_items(&self, _: &'static str) -> Result<Vec<&T>, StepError> {
        Ok(self.iter().collect())
    }
}

impl<T> Items for VecDeque<T> {
    type Item = T;
    fn wf_items(&self, _: &'static str) -> Result<Vec<&T>, StepError> {
        Ok(self.iter().collect())
    }
}

impl Items for Value {
    type Item = Value;
    fn wf_items(&self, path: &'static str) -> Result<Vec<&Value>, StepError> {
        match self {
            Value::Array(items) => Ok(items.iter().collect()),
            other => Err(StepError::Reference {
                path: Cow::Borrowed(path),
                reason: format!("`for … in` needs a list, found {}", crate::template::eval::kind(other)),
            }),
        }
    }
}

#[diagnostic::do_not_recommend]
impl Items for Json<'_> {
    type Item = Value;
    fn wf_items(&self, path: &'static str) -> Result<Vec<&Value>, StepError> {
        self.0.wf_items(path)
    }
}

/// A map that a `<<step.map["key"]>>` reference can look into.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a map, so it cannot be looked into with `[\"key\"]`",
    label = "looked into here",
    note = "`[\"key\"]` applies to string-keyed maps and `serde_json::Value` objects; use `.field` for a struct field"
)]
pub trait Keyed {
    /// The value type.
    type Item: ?Sized;
    /// The value under `key`.
    fn key(&self, key: &str) -> Result<&Self::Item, String>;
}

impl<V, H: std::hash::BuildHasher> Keyed for HashMap<String, V, H> {
    type Item = V;
    fn key(&self, key: &str) -> Result<&V, String> {
        self.get(key).ok_or_else(|| format!("no key `{key}`"))
    }
}

impl<V> Keyed for BTreeMap<String, V> {
    type Item = V;
    fn key(&self, key: &str) -> Result<&V, String> {
        self.get(key).ok_or_else(|| format!("no key `{key}`"))
    }
}

impl Keyed for Value {
    type Item = Value;
    fn key(&self, key: &str) -> Result<&Value, String> {
        match self {
            Value::Object(map) => map.get(key).ok_or_else(|| format!("no key `{key}`")),
            other => Err(format!("expected an object, found {}", crate::template::eval::kind(other))),
        }
    }
}

/// `container[index]` for a reference, failing the step with the reference's text.
pub fn index<'a, C: Indexable + ?Sized>(
    container: &'a C,
    index: i64,
    path: &'static str,
) -> Result<&'a C::Item, StepError> {
    container.at(index).map_err(|reason| StepError::Reference { path: Cow::Borrowed(path), reason })
}

/// `map["key"]` for a reference, failing the step with the reference's text.
pub fn key<'a, M: Keyed + ?Sized>(
    map: &'a M,
    key: &str,
    path: &'static str,
) -> Result<&'a M::Item, StepError> {
    map.key(key).map_err(|reason| StepError::Reference { path: Cow::Borrowed(path), reason })
}

/// An owned copy of a referenced value: what a whole `<<step.field>>` argument passes.
///
/// A method (rather than `Clone::clone(&x)`) so that the value's own type is checked against the
/// parameter's, and a mismatch reads "expected `String`, found `u64`".
pub trait Own: Clone {
    /// Clones the value.
    fn wf_own(&self) -> Self {
        self.clone()
    }
}

impl<T: Clone> Own for T {}

/// A parameter that a string literal argument (`title: "Fix"`, `body: "Fixes #<<n>>"`) can
/// fill: any type that is `From<&'static str>` (for a plain literal) or `From<String>` (for one
/// with references).
#[diagnostic::on_unimplemented(
    message = "expected `{Self}`, found a string literal",
    label = "expected `{Self}`",
    note = "a string literal fills a text parameter (`String`, `&str`, `Cow<str>` or any type that is `From<&str>`); write a number or a bool without quotes: `10`, not `\"10\"`; and a reference without quotes: `<<x>>`, not `\"<<x>>\"`"
)]
pub trait FromText<S>: Sized {
    /// Converts the literal's text.
    fn from_text(text: S) -> Self;
}

// Not recommended, so that the error is `FromText`'s own rather than rustc's list of `From` impls.
#[diagnostic::do_not_recommend]
impl<S, T: From<S>> FromText<S> for T {
    fn from_text(text: S) -> Self {
        T::from(text)
    }
}

/// A value written into text by a `"…<<x>>…"` string literal: its JSON text, with a string
/// written without its quotes and `null` as nothing, exactly as the run-time template engine
/// writes `{{x}}` (see [`text_of`](crate::template::eval::text_of)).
///
/// Strings, numbers and bools are written straight into the output; a list, map or struct is
/// written as compact JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be interpolated into text",
    label = "`{Self}` is not `Serialize`",
    note = "text interpolation writes a value as JSON (strings without quotes); derive `Serialize` for it, or pass it whole as `<<x>>` instead of inside a string"
)]
pub trait Interpolate {
    /// Appends the value's text to `out`, failing the step (naming the reference `path`) when
    /// the value cannot be serialized.
    fn interpolate(&self, out: &mut String, path: &'static str) -> Result<(), StepError>;
}

// Not recommended, so that the error is `Interpolate`'s own rather than serde's.
#[diagnostic::do_not_recommend]
impl<T: Serialize + ?Sized> Interpolate for T {
    fn interpolate(&self, out: &mut String, path: &'static str) -> Result<(), StepError> {
        let failed = |reason: String| StepError::Reference { path: Cow::Borrowed(path), reason };
        match self.serialize(Scalar(out)) {
            Ok(()) => Ok(()),
            // A list, map or struct: the same JSON value the run-time engine reads, written the
            // same way (key order and number formatting included).
            Err(NotScalar::Compound) => {
                let value = serde_json::to_value(self).map_err(|e| failed(e.to_string()))?;
                write_text(out, &value);
                Ok(())
            }
            Err(NotScalar::Failed(reason)) => Err(failed(reason)),
        }
    }
}

/// Writes a scalar as `text_of` would write its JSON value, without building the value; gives
/// up with [`NotScalar::Compound`] before writing anything for any other kind of value.
struct Scalar<'a>(&'a mut String);

#[derive(Debug)]
enum NotScalar {
    Compound,
    Failed(String),
}

impl std::fmt::Display for NotScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotScalar::Compound => f.write_str("not a scalar"),
            NotScalar::Failed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for NotScalar {}

impl ser::Error for NotScalar {
    fn custom<M: Display>(msg: M) -> Self {
        NotScalar::Failed(msg.to_string())
    }
}

macro_rules! write_display {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<(), NotScalar> {
            let _ = write!(self.0, "{v}");
            Ok(())
        }
    )*};
}

macro_rules! compound {
    ($($method:ident($($arg:ty),*) -> $ret:ident),*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Self::$ret, NotScalar> {
            Err(NotScalar::Compound)
        }
    )*};
}

impl<'a> Serializer for Scalar<'a> {
    type Ok = ();
    type Error = NotScalar;
    type SerializeSeq = Impossible<(), NotScalar>;
    type SerializeTuple = Impossible<(), NotScalar>;
    type SerializeTupleStruct = Impossible<(), NotScalar>;
    type SerializeTupleVariant = Impossible<(), NotScalar>;
    type SerializeMap = Impossible<(), NotScalar>;
    type SerializeStruct = Impossible<(), NotScalar>;
    type SerializeStructVariant = Impossible<(), NotScalar>;

    write_display!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_char: char
    );

    fn serialize_str(self, v: &str) -> Result<(), NotScalar> {
        self.0.push_str(v);
        Ok(())
    }

    // As `serde_json::to_value`: a finite float is a number, any other is `null`.
    fn serialize_f64(self, v: f64) -> Result<(), NotScalar> {
        if let Some(n) = serde_json::Number::from_f64(v) {
            let _ = write!(self.0, "{n}");
        }
        Ok(())
    }

    fn serialize_none(self) -> Result<(), NotScalar> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotScalar> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), NotScalar> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotScalar> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), NotScalar> {
        self.0.push_str(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotScalar> {
        value.serialize(self)
    }

    // `f32` widens to `f64` in `serde_json::to_value`; let it do so.
    fn serialize_f32(self, _: f32) -> Result<(), NotScalar> {
        Err(NotScalar::Compound)
    }

    fn serialize_i128(self, _: i128) -> Result<(), NotScalar> {
        Err(NotScalar::Compound)
    }

    fn serialize_u128(self, _: u128) -> Result<(), NotScalar> {
        Err(NotScalar::Compound)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), NotScalar> {
        Err(NotScalar::Compound)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotScalar> {
        Err(NotScalar::Compound)
    }

    compound!(
        serialize_seq(Option<usize>) -> SerializeSeq,
        serialize_tuple(usize) -> SerializeTuple,
        serialize_tuple_struct(&'static str, usize) -> SerializeTupleStruct,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> SerializeTupleVariant,
        serialize_map(Option<usize>) -> SerializeMap,
        serialize_struct(&'static str, usize) -> SerializeStruct,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> SerializeStructVariant
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::Interpolate;
    use crate::template::eval::text_of;

    fn text<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = String::from(">");
        value.interpolate(&mut out, "x").unwrap();
        out
    }

    /// What the run-time engine writes for the same value, received as JSON.
    fn engine<T: Serialize + ?Sized>(value: &T) -> String {
        format!(">{}", text_of(&serde_json::to_value(value).unwrap()))
    }

    #[derive(Serialize)]
    enum Kind {
        Bug,
        Size(u32),
    }

    #[derive(Serialize)]
    struct Meters(f64);

    #[test]
    fn every_kind_of_value_is_written_as_the_engine_writes_it() {
        let map: BTreeMap<String, f32> = [("b".to_owned(), 0.1), ("a".to_owned(), 2.0)].into();
        let cases: Vec<(Box<dyn erased::Value>, &str)> = vec![
            (Box::new("a \"quoted\" string"), ">a \"quoted\" string"),
            (Box::new('c'), ">c"),
            (Box::new(1.0_f64), ">1.0"),
            (Box::new(f64::NAN), ">"),
            (Box::new(-3_i64), ">-3"),
            (Box::new(u64::MAX), ">18446744073709551615"),
            (Box::new(7_u128), ">7"),
            (Box::new(0.1_f32), ">0.10000000149011612"),
            (Box::new(true), ">true"),
            (Box::new(()), ">"),
            (Box::new(None::<String>), ">"),
            (Box::new(Some("x")), ">x"),
            (Box::new(Kind::Bug), ">Bug"),
            (Box::new(Kind::Size(3)), r#">{"Size":3}"#),
            (Box::new(Meters(2.5)), ">2.5"),
            (Box::new(vec![1, 2]), ">[1,2]"),
            (Box::new(map), r#">{"a":2.0,"b":0.10000000149011612}"#),
            (Box::new(json!({ "z": null, "a": [1.5, "s"] })), r#">{"z":null,"a":[1.5,"s"]}"#),
        ];
        for (value, expected) in cases {
            assert_eq!(value.text(), expected);
            assert_eq!(value.engine(), expected);
        }
    }

    /// Boxes values of different types for the table above.
    mod erased {
        pub trait Value {
            fn text(&self) -> String;
            fn engine(&self) -> String;
        }
        impl<T: serde::Serialize> Value for T {
            fn text(&self) -> String {
                super::text(self)
            }
            fn engine(&self) -> String {
                super::engine(self)
            }
        }
    }

    #[test]
    fn a_value_that_cannot_be_serialized_fails_naming_the_reference() {
        let map: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let err = map.interpolate(&mut String::new(), "step.map").unwrap_err();
        assert_eq!(err.to_string(), "reference `step.map`: key must be a string");
    }
}
