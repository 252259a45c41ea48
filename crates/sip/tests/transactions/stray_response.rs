//! Responses that belong to no client transaction are reported, not delivered
//! (RFC 3261 §17.1.3, §18.1.2): a response whose branch we never sent, one whose CSeq method
//! differs from the request's (a CANCEL's response shares the INVITE's branch), and a
//! retransmitted 2xx to an INVITE whose transaction the first 2xx ended. A response that fails
//! validation is rejected before matching and never answered. Asserted: the event for each,
//! that nothing is sent back, and that a matching response still completes the transaction.

use crate::{events, feed, to_server, transmits, udp_from_server, CLIENT};
use parley_sip::{Endpoint, EndpointConfig, Event, Transport};
use parley_test_support::messages::uac_request;
use parley_test_support::VirtualClock;

/// A 200 to a MESSAGE sent with `branch` and CSeq `cseq`.
fn ok(branch: &str, cseq: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch};rport=5060;received=192.0.2.10\r\n\
From: <sip:alice@example.test>;tag=a73kszlfl\r\n\
To: <sip:bob@example.test>;tag=b0b\r\n\
Call-ID: stray@192.0.2.10\r\n\
CSeq: {cseq}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn unmatched_and_invalid_responses() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());
    let request = uac_request("MESSAGE", "sip:bob@example.test", "stray@192.0.2.10", 1);
    let tx = client
        .send_request(
            now,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    let sent = transmits(&mut client);
    let sent = parley_test_support::messages::parse(&sent[0].data);
    let branch = sent.top_via().unwrap().branch().unwrap().to_owned();

    feed(
        &mut client,
        now,
        udp_from_server(),
        &ok("z9hG4bKneversent", "1 MESSAGE"),
    );
    feed(
        &mut client,
        now,
        udp_from_server(),
        &ok(&branch, "1 CANCEL"),
    );
    assert_eq!(
        events(&mut client),
        [
            Event::StrayResponse {
                from: udp_from_server()
            },
            Event::StrayResponse {
                from: udp_from_server()
            }
        ]
    );

    // Invalid: no CSeq method. Rejected, not matched, never answered.
    let broken = String::from_utf8(ok(&branch, "1 MESSAGE"))
        .unwrap()
        .replace("CSeq: 1 MESSAGE", "CSeq: 1");
    feed(&mut client, now, udp_from_server(), broken.as_bytes());
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Rejected {
            answered: false,
            ..
        }]
    ));
    assert!(transmits(&mut client).is_empty());
    assert_eq!(client.transaction_count(), 1);

    // The real answer still completes the transaction.
    feed(
        &mut client,
        now,
        udp_from_server(),
        &ok(&branch, "1 MESSAGE"),
    );
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Response { tx: t, .. }] if *t == tx
    ));
    // And its retransmission is absorbed by the completed transaction, not stray.
    feed(
        &mut client,
        now,
        udp_from_server(),
        &ok(&branch, "1 MESSAGE"),
    );
    assert!(events(&mut client).is_empty());
}

#[test]
fn a_second_2xx_to_invite_is_stray() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());
    let invite = uac_request("INVITE", "sip:bob@example.test", "stray@192.0.2.10", 1);
    client
        .send_request(
            now,
            invite,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    let sent = parley_test_support::messages::parse(&transmits(&mut client)[0].data);
    let branch = sent.top_via().unwrap().branch().unwrap().to_owned();
    let ok = ok(&branch, "1 INVITE");
    feed(&mut client, now, udp_from_server(), &ok);
    assert!(matches!(&events(&mut client)[..], [Event::Response { .. }]));
    assert_eq!(client.transaction_count(), 0);
    feed(&mut client, now, udp_from_server(), &ok);
    assert_eq!(
        events(&mut client),
        [Event::StrayResponse {
            from: udp_from_server()
        }]
    );
}
