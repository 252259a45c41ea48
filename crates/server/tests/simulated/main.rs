//! Deterministic simulation scenarios (STYLE.md item 8): the whole server (transaction user,
//! proxy, registrar, offline delivery) over an in-memory store, and phones that are bare
//! `parley_sip::Endpoint`s, all joined by a seeded, optionally lossy `SimNetwork`. Tokio's
//! clock is paused, and the server's wall clock follows it, so registrations expire and
//! retries fall due in microseconds of real time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod forking;
mod harness;
mod offline;
mod presence_failing_watchers;
mod presence_registration_expiry;
mod presence_subscription_expiry;
mod presence_winfo_bursts;
mod presence_winfo_waiting;
mod registration;
