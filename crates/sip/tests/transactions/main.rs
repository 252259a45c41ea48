//! The transaction layer of RFC 3261 §17, one scenario per module, run in virtual time.
//!
//! Each module opens with what a user of the endpoint would see and what is asserted. The
//! shared messages and helpers below are real RFC 3261 messages (modelled on the §24 call
//! flow) between a client at 192.0.2.10 and a server at 192.0.2.1.

// Test code: the helpers and transaction-user closures outside `#[test]` functions unwrap too;
// a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod absorption;
mod cancel;
mod cleanup;
mod invite_client;
mod invite_server;
mod large_request;
mod lossy_network;
mod malformed_answer;
mod non_invite_retransmission;
mod overload;
mod rfc2543;
mod stray_response;
mod timeouts;

use bytes::Bytes;
use parley_sip::{ConnectionId, Destination, Endpoint, Event, Peer, Transmit, Transport};
use parley_test_support::{Pair, VirtualClock};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const CLIENT: SocketAddr = Pair::CLIENT;
pub const SERVER: SocketAddr = Pair::SERVER;

/// An INVITE from Alice's phone (RFC 3261 §24.2 F1, re-addressed).
pub const INVITE: &[u8] = b"INVITE sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.test>\r\n\
From: Alice <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.10:5060>\r\n\
Content-Length: 0\r\n\r\n";

/// The To tag the server's TU puts in its responses to [`INVITE`].
pub const SERVER_TAG: &str = "8321234356";

/// The ACK for a non-2xx final response to [`INVITE`] (§17.1.1.3): same branch, the To tag of
/// the response, CSeq method ACK.
pub const ACK_NON_2XX: &[u8] = b"ACK sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.test>;tag=8321234356\r\n\
From: Alice <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\r\n";

/// The ACK for a 2xx to [`INVITE`] (§13.2.2.4): a new transaction, so a new branch.
pub const ACK_2XX: &[u8] = b"ACK sip:alice@192.0.2.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds9\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.test>;tag=8321234356\r\n\
From: Alice <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\r\n";

/// The CANCEL of [`INVITE`] (§9.1): same Request-URI, Call-ID, To, From, CSeq number and
/// top Via.
pub const CANCEL: &[u8] = b"CANCEL sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.test>\r\n\
From: Alice <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 CANCEL\r\n\
Content-Length: 0\r\n\r\n";

/// How the server sees the client over UDP.
pub fn udp_from_client() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: CLIENT,
        local: SERVER,
        connection: None,
    }
}

/// How the client sees the server over UDP.
pub fn udp_from_server() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: SERVER,
        local: CLIENT,
        connection: None,
    }
}

/// How the server sees the client over TCP connection 1.
pub fn tcp_from_client() -> Peer {
    Peer {
        transport: Transport::Tcp,
        remote: CLIENT,
        local: SERVER,
        connection: Some(ConnectionId(1)),
    }
}

pub fn to_server(transport: Transport) -> Destination {
    Destination::Address {
        transport,
        addr: SERVER,
    }
}

pub fn feed(ep: &mut Endpoint, now: Instant, from: Peer, data: &[u8]) {
    ep.handle_message(now, from, Bytes::copy_from_slice(data));
}

pub fn transmits(ep: &mut Endpoint) -> Vec<Transmit> {
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

pub fn events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// The start line of a printed message.
pub fn start_line(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    text.lines().next().unwrap_or_default().to_owned()
}

/// Runs one endpoint's timers alone (no network) until `until`, returning every transmit with
/// the virtual time since `clock`'s start at which it was queued.
pub fn run_timers(
    ep: &mut Endpoint,
    clock: &mut VirtualClock,
    until: Instant,
) -> Vec<(Duration, Transmit)> {
    let mut out = Vec::new();
    while let Some(t) = ep.poll_timeout().filter(|&t| t <= until) {
        clock.advance_to(t);
        ep.handle_timeout(t);
        out.extend(transmits(ep).into_iter().map(|x| (clock.elapsed(), x)));
    }
    clock.advance_to(until);
    out
}

/// Milliseconds, for writing schedules.
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}
