//! Test support for Parley: fixtures for the RFC 4475 torture messages and typical SIMPLE
//! messages.

pub mod fixtures;
