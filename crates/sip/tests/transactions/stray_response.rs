//! Responses that belong to no client transaction are reported, not delivered
//! (RFC 3261 §17.1.3, §18.1.2): a response whose branch we never sent, one whose CSeq method
//! differs from the request's (a CANCEL's response shares the INVITE's branch), and a
//! retransmitted 2xx to an INVITE whose transaction the first 2xx ended. A response that fails
//! validation is rejected before matching and never answered. Asserted: the event for each,
//! carrying the response as received, that nothing is sent back, and that a matching response
//! still completes the transaction. A proxy forwards such a response (a stray 2xx to an
//! INVITE) to the address its next Via names: `received` and `rport`, or the sent-by.

use crate::{events, feed, to_server, transmits, udp_from_server, CLIENT};
use parley_sip::{Endpoint, EndpointConfig, Event, Transport};
use parley_test_support::messages::{parse, uac_request};
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
    let sent = parse(&sent[0].data);
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
    let stray = |cseq: &str| Event::StrayResponse {
        from: udp_from_server(),
        response: parse(&ok(
            if cseq == "1 CANCEL" {
                &branch
            } else {
                "z9hG4bKneversent"
            },
            cseq,
        )),
    };
    assert_eq!(
        events(&mut client),
        [stray("1 MESSAGE"), stray("1 CANCEL")],
        "each stray response is handed over as received"
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
    let sent = parse(&transmits(&mut client)[0].data);
    let branch = sent.top_via().unwrap().branch().unwrap().to_owned();
    let ok = ok(&branch, "1 INVITE");
    feed(&mut client, now, udp_from_server(), &ok);
    assert!(matches!(&events(&mut client)[..], [Event::Response { .. }]));
    assert_eq!(client.transaction_count(), 0);
    feed(&mut client, now, udp_from_server(), &ok);
    assert_eq!(
        events(&mut client),
        [Event::StrayResponse {
            from: udp_from_server(),
            response: parse(&ok),
        }]
    );
}

/// A 200 to an INVITE whose only Via is `via`: a stray 2xx as a proxy forwards it upstream,
/// its own Via removed.
fn ok_via(via: &str) -> parley_sip::Message {
    parse(
        format!(
            "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: <sip:alice@example.test>;tag=a73kszlfl\r\n\
             To: <sip:bob@example.test>;tag=b0b\r\nCall-ID: fwd@192.0.2.10\r\nCSeq: 1 INVITE\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
}

#[test]
fn a_stray_response_is_forwarded_to_the_address_its_top_via_names() {
    use parley_sip::{Destination, EndpointError};
    let now = VirtualClock::new().now();
    let mut proxy = Endpoint::new(EndpointConfig::default());
    let sent_to = |proxy: &mut Endpoint, via: &str| {
        proxy.forward_response(now, ok_via(via)).map(|()| {
            let sent = transmits(proxy);
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].data, ok_via(via).to_bytes());
            sent[0].destination
        })
    };
    let at = |transport, addr: &str| Destination::Address {
        transport,
        addr: addr.parse().unwrap(),
    };
    // UDP behind a NAT: received and rport (RFC 3581 §4).
    assert_eq!(
        sent_to(
            &mut proxy,
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=198.51.100.7"
        ),
        Ok(at(Transport::Udp, "198.51.100.7:40000"))
    );
    assert_eq!(
        sent_to(&mut proxy, "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK2"),
        Ok(at(Transport::Udp, "192.0.2.10:5060"))
    );
    // TCP: the connection the request came on, if it is still open (same address).
    assert_eq!(
        sent_to(
            &mut proxy,
            "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK3;rport=40001;received=198.51.100.7"
        ),
        Ok(at(Transport::Tcp, "198.51.100.7:40001"))
    );
    assert_eq!(
        sent_to(&mut proxy, "SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK4"),
        Ok(at(Transport::Tls, "192.0.2.10:5061"))
    );
    // A name would need DNS: nothing is sent.
    assert_eq!(
        sent_to(&mut proxy, "SIP/2.0/UDP phone.example.test;branch=z9hG4bK5"),
        Err(EndpointError::UnroutableVia)
    );
    assert!(transmits(&mut proxy).is_empty());
}
