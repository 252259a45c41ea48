//! Parser tests: the RFC 4475 torture messages and generated messages. One binary, one
//! scenario per module.

// Test helpers outside #[test] functions unwrap fixtures that are known to be valid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checks_agree;
mod generated_round_trip;
mod rfc4475_invalid;
mod rfc4475_valid;
mod typical_messages;
