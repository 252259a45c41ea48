#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The store's integration tests, one binary: the conformance suite run on every
//! implementation, then what only the SQLite store promises (durability across reopening,
//! migrations, concurrent writers) and a differential property test of the two.

mod conformance;
mod differential;
mod memory;
mod sqlite;
