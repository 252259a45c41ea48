//! The user agent against a fake registrar and message server (`fake_server`) built on plain
//! UDP sockets with the real digest code: each file is one scenario.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_server;
mod harness;

mod end_to_end;

mod incoming_message;
mod presence_serve_self;
mod register_digest;
mod register_errors;
mod send_message;
mod tcp_transport;
mod unreachable;
