//! # parley-store
//!
//! Durable domain state of Parley behind typed traits (work in progress).
