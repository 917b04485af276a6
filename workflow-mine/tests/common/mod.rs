//! Helpers of the integration tests.
#![allow(dead_code)]

pub mod synth;

/// A path in the repository's `tests/data/traces/`.
pub fn trace(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/traces").join(name)
}
