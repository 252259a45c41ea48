//! A request that would print larger than 1300 bytes is not sent over UDP, where it would be
//! fragmented: RFC 3261 §18.1.1 sends it over TCP to the same address and says so in the Via.
//! A TU that sets `udp_max_request_size: None` keeps UDP. Asserted: the destination transport,
//! the Via transport (with `rport` and the fresh branch kept), no retransmissions for the TCP
//! copy, and small requests untouched.

use crate::{to_server, transmits, CLIENT};
use parley_sip::{Destination, Endpoint, EndpointConfig, Transport};
use parley_test_support::messages::{parse, uac_request};
use parley_test_support::VirtualClock;

fn big_message() -> parley_sip::Message {
    let mut m = uac_request("MESSAGE", "sip:bob@example.test", "big@192.0.2.10", 1);
    m.set_body("text/plain;charset=UTF-8", "x".repeat(1_200));
    m
}

#[test]
fn large_udp_request_goes_over_tcp() {
    let mut clock = VirtualClock::new();
    let mut client = Endpoint::new(EndpointConfig::default());
    client
        .send_request(
            clock.now(),
            big_message(),
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    let sent = transmits(&mut client);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].data.len() > 1_300);
    assert_eq!(
        sent[0].destination,
        Destination::Address {
            transport: Transport::Tcp,
            addr: crate::SERVER
        }
    );
    let via = parse(&sent[0].data).top_via().unwrap().to_string();
    assert!(
        via.starts_with("SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK"),
        "{via}"
    );
    assert!(via.ends_with(";rport"), "{via}");
    // Reliable now: no Timer E, only Timer F.
    clock.advance(std::time::Duration::from_secs(31));
    client.handle_timeout(clock.now());
    assert!(transmits(&mut client).is_empty());

    let small = uac_request("MESSAGE", "sip:bob@example.test", "small@192.0.2.10", 2);
    client
        .send_request(
            clock.now(),
            small,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    assert_eq!(
        transmits(&mut client)[0].destination,
        to_server(Transport::Udp)
    );
}

#[test]
fn the_tu_can_keep_large_requests_on_udp() {
    let clock = VirtualClock::new();
    let config = EndpointConfig {
        udp_max_request_size: None,
        ..EndpointConfig::default()
    };
    let mut client = Endpoint::new(config);
    client
        .send_request(
            clock.now(),
            big_message(),
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    let sent = transmits(&mut client);
    assert_eq!(sent[0].destination, to_server(Transport::Udp));
    assert!(parse(&sent[0].data)
        .top_via()
        .unwrap()
        .to_string()
        .starts_with("SIP/2.0/UDP "));
}
