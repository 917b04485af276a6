//! Run-time parts of `<<step.path>>` references: list indexing, map keys, text interpolation.
//!
//! Field access (`<<step.field>>`) is plain Rust field access and is checked by the compiler;
//! indexing and keys go through [`Indexable`] and [`Keyed`] so that an index out of range fails the
//! step with an error naming the reference instead of panicking.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Display;

use serde_json::Value;

use crate::error::StepError;

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

/// Wraps a referenced value for interpolation into a string literal.
///
/// `(&Text(&v)).wf_text()` picks [`JsonText`] for a `serde_json::Value` (strings unquoted) and
/// [`DisplayText`] for every other `Display` type.
pub struct Text<'a, T: ?Sized>(pub &'a T);

/// Interpolation of a JSON value: strings without quotes, anything else as compact JSON.
pub trait JsonText {
    /// The text to splice.
    fn wf_text(&self) -> Cow<'_, str>;
}

impl JsonText for Text<'_, Value> {
    fn wf_text(&self) -> Cow<'_, str> {
        match self.0 {
            Value::String(s) => Cow::Borrowed(s),
            other => Cow::Owned(other.to_string()),
        }
    }
}

/// Interpolation of a `Display` value.
pub trait DisplayText {
    /// The text to splice.
    fn wf_text(&self) -> Cow<'_, str>;
}

impl<T: Display + ?Sized> DisplayText for &Text<'_, T> {
    fn wf_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.0.to_string())
    }
}
