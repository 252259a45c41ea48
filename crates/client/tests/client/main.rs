//! The user agent against a fake registrar and message server (`fake_server`) built on plain
//! UDP sockets with the real digest code: each file is one scenario.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_server;
mod harness;

mod incoming_message;
mod register_digest;
mod register_errors;
mod send_message;
mod unreachable;
