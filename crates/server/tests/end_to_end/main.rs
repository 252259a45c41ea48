//! End-to-end tests of `parley serve` over real sockets: each module starts the server
//! in-process on 127.0.0.1 with ephemeral ports and talks to it as a SIP client would.

// A failing unwrap is how a test helper reports a broken test environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_dns;
mod harness;
mod phone;

mod calls;
mod connections;
mod federation;
mod forked_call;
mod http;
mod loops;
mod malformed;
mod messaging;
mod offline;
mod options;
mod presence_burst;
mod presence_confirm;
mod presence_decision_restart;
mod presence_events;
mod presence_outbound_restart;
mod presence_purge;
mod presence_registration;
mod presence_restart;
mod presence_tcp;
mod presence_util;
mod presence_watch;
mod presence_winfo;
mod presence_winfo_restart;
mod publish;
mod random_datagrams;
mod registrar;
mod rfc4475;
mod status_codes;
