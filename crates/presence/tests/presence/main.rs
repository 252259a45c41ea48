//! Tests of the presence crate: documents, publication state, composition, policy, watcher
//! info. One binary, one scenario per module.

// Test helpers outside #[test] functions unwrap fixtures that are known to be valid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod composition;
mod generated_round_trip;
mod limits_and_malformed;
mod packages;
mod pidf_fixtures;
mod policy_decisions;
mod publish_lifecycle;
mod winfo_sequences;

/// A fixture file from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
