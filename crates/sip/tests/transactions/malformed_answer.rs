//! A malformed request from a phone behind a NAT is answered at the address it came from:
//! its Via names a private sent-by with `rport`, and the `400` (with the reason in its phrase)
//! goes to the public source address and port (RFC 3581 §4), carrying `received`/`rport`.
//! Asserted: the destination of the 400, its reason, and the rejection event.

use bytes::Bytes;
use parley_sip::{Destination, Endpoint, EndpointConfig, Event, Peer, Transport};
use parley_test_support::VirtualClock;
use std::net::SocketAddr;

#[test]
fn malformed_request_behind_nat_is_answered_at_its_source() {
    let clock = VirtualClock::new();
    let mut server = Endpoint::new(EndpointConfig::default());
    let source: SocketAddr = "203.0.113.7:40123".parse().unwrap();
    let from = Peer {
        transport: Transport::Udp,
        remote: source,
        local: crate::SERVER,
        connection: None,
    };
    // CSeq method differs from the request method (RFC 4475 §3.1.2.17).
    let request = b"OPTIONS sip:example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKnat1\r\n\
Max-Forwards: 70\r\n\
To: <sip:example.test>\r\n\
From: <sip:alice@example.test>;tag=n1\r\n\
Call-ID: nat-malformed@10.0.0.5\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";
    server.handle_message(clock.now(), from, Bytes::from_static(request));
    let sent = server.poll_transmit().expect("a 400 goes out");
    assert_eq!(
        sent.destination,
        Destination::Address {
            transport: Transport::Udp,
            addr: source
        }
    );
    let text = String::from_utf8(sent.data.to_vec()).unwrap();
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (CSeq method does not match"),
        "{text}"
    );
    assert!(text.contains("received=203.0.113.7"), "{text}");
    assert!(text.contains("rport=40123"), "{text}");
    assert!(matches!(
        server.poll_event(),
        Some(Event::Rejected { answered: true, .. })
    ));
}
