//! [`Secret<T>`]: a value that is used but never shown.

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What is written in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A value a tool needs (a token, a password) that must not be seen: its `Debug` and `Display`
/// print `[REDACTED]`, and it serialises as `"[REDACTED]"`, so it reaches no journal, export,
/// `tracing` output or error message. Text secrets are also remembered ([`register`]): a tool's
/// error or panic message that quotes one, or its lines, or its base64, is scrubbed before a run
/// records or reports it, and the panic hook prints it redacted. It deserialises from the plain value, so a model or a
/// run-time workflow passes it as it would a `T`; its JSON schema is `T`'s, marked
/// `"writeOnly": true`.
///
/// A workflow input typed `Secret<T>`, or a `#[tool]` parameter typed `Secret<T>` or marked
/// `#[secret]`, is redacted wherever a run records it. A tool that returns a secret should return
/// a `Secret<T>`: outputs are recorded as they serialise.
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

impl<T: 'static> Secret<T> {
    /// Wraps a value (remembered, when it is text, so that it is scrubbed from what runs
    /// record: [`scrub`]).
    pub fn new(value: T) -> Self {
        register_any(&value);
        Self(value)
    }
}

impl<T> Secret<T> {
    /// The value, to use it (not to print it).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: 'static> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
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

impl<'de, T: Deserialize<'de> + 'static> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The value's own error would quote it: say only what was expected.
        T::deserialize(deserializer).map(Self::new).map_err(|_| {
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

/// The secrets seen by this process, as text: what [`scrub`] removes.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());
/// Whether any secret was seen: the one thing [`scrub`] reads when none was.
static ANY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The forms of a secret that are scrubbed: the value, each of its lines (of a multi-line
/// secret, such as a key), and its base64 encodings.
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut forms = vec![secret.to_owned()];
    if secret.contains('\n') {
        forms.extend(secret.lines().map(str::trim).filter(|l| l.len() >= 8).map(str::to_owned));
    }
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        forms.push(engine.encode(secret));
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// Remembers `secret` (a [`Secret`]'s text, a `#[secret]` argument), so that [`scrub`] removes
/// it, and its lines and base64 forms, from what a run records and reports; installs the
/// redacting panic hook ([`install_panic_hook`]) the first time. Values shorter than 4
/// characters are not remembered (they would scrub ordinary words).
pub fn register(secret: &str) {
    if secret.chars().count() < 4 {
        return;
    }
    let Ok(mut secrets) = SECRETS.write() else { return };
    if secrets.iter().any(|s| s == secret) {
        return;
    }
    for form in forms(secret) {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    secrets.sort_by_key(|f| std::cmp::Reverse(f.len()));
    drop(secrets);
    if !ANY.swap(true, std::sync::atomic::Ordering::AcqRel) {
        install_panic_hook();
    }
}

/// `text` with every secret seen by this process ([`register`]) replaced by `[REDACTED]`.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    if !ANY.load(std::sync::atomic::Ordering::Acquire) {
        return std::borrow::Cow::Borrowed(text);
    }
    let Ok(secrets) = SECRETS.read() else { return std::borrow::Cow::Borrowed(text) };
    let mut text = std::borrow::Cow::Borrowed(text);
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = std::borrow::Cow::Owned(text.replace(secret.as_str(), REDACTED));
        }
    }
    text
}

/// `value` with every secret scrubbed from its strings (and object keys).
pub fn scrub_json(value: &mut serde_json::Value) {
    if !ANY.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = scrub(s) {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                scrub_json(&mut item);
                map.insert(scrub(&key).into_owned(), item);
            }
        }
        _ => {}
    }
}

/// Installs a panic hook that prints a panic whose message holds a secret with the secret
/// replaced by `[REDACTED]`, and leaves every other panic to the hook installed before it.
/// [`register`] installs it the first time a secret is seen; calling it again does nothing.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned());
            match message.as_deref().map(scrub) {
                Some(std::borrow::Cow::Owned(clean)) => {
                    use std::io::Write as _;
                    let thread = std::thread::current();
                    let location =
                        info.location().map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()));
                    let _ = writeln!(
                        std::io::stderr(),
                        "thread '{}' panicked{}:\n{clean}",
                        thread.name().unwrap_or("<unnamed>"),
                        location.unwrap_or_default()
                    );
                }
                _ => previous(info),
            }
        }));
    });
}

/// A value a `#[tool]` marks `#[secret]`, remembered when it is text (`(&&Register(&v)).register()`).
pub struct Register<'a, T: ?Sized>(pub &'a T);

/// [`Register`] of text.
pub trait RegisterText {
    /// Remembers the value.
    fn register(&self);
}

impl<T: AsRef<str> + ?Sized> RegisterText for &Register<'_, T> {
    fn register(&self) {
        register(self.0.as_ref());
    }
}

/// [`Register`] of a value that is not text: its text form is not known.
pub trait RegisterOther {
    /// Does nothing.
    fn register(&self);
}

impl<T: ?Sized> RegisterOther for Register<'_, T> {
    fn register(&self) {}
}

/// Remembers a [`Secret`]'s value when it is text.
fn register_any<T: 'static>(value: &T) {
    let any: &dyn std::any::Any = value;
    if let Some(text) = any.downcast_ref::<String>() {
        register(text);
    } else if let Some(text) = any.downcast_ref::<&'static str>() {
        register(text);
    }
}
