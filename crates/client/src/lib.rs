//! # parley-client
//!
//! Parley's user agent library (RFC 3261 UAC/UAS over `parley-net`): registration with digest
//! authentication and page-mode instant messages (RFC 3428).
