//! The client side of an INVITE (RFC 3261 §17.1.1). When the callee is busy the caller's TU
//! sees the `486` once and never builds an ACK: the transaction sends it to the same address
//! (§17.1.1.3) and sends it again for every retransmitted 486, which the TU does not see. When
//! the callee answers `200`, the transaction ends at once, the TU sees the 2xx and sends the
//! ACK itself; that ACK has no transaction and reaches the server's TU. Asserted: the events
//! on both sides, the ACK's header fields, and that both endpoints end with no transactions.

use crate::{feed, start_line, to_server, transmits, udp_from_server, CLIENT, SERVER};
use parley_sip::{Endpoint, EndpointConfig, Event, Method, Transport};
use parley_test_support::messages::{parse, uac_request};
use parley_test_support::{no_tu, Pair, Side, SimNetwork};
use std::time::{Duration, Instant};

/// A server TU that answers every INVITE with `code`.
fn answer_with(code: u16) -> impl FnMut(Side, Instant, &mut Endpoint, &Event) {
    move |side, now, ep, e| {
        if let (
            Side::Server,
            Event::Request {
                tx: Some(tx),
                request,
                ..
            },
        ) = (side, e)
        {
            if request.method() == Some(&Method::Invite) {
                let reason = if code == 200 { "OK" } else { "Busy Here" };
                ep.respond(now, *tx, request.response(code, reason, Some("callee1")))
                    .unwrap();
            }
        }
    }
}

fn call(pair: &mut Pair) -> parley_sip::TransactionId {
    let invite = uac_request("INVITE", "sip:bob@example.test", "call1@192.0.2.10", 7);
    let now = pair.now();
    pair.client
        .endpoint
        .send_request(
            now,
            invite,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap()
}

#[test]
fn the_transaction_acknowledges_a_486_itself() {
    let net = SimNetwork::new(3).with_delay(Duration::from_millis(10));
    let mut pair = Pair::new(EndpointConfig::default(), net);
    let tx = call(&mut pair);
    let mut tu = answer_with(486);
    pair.drive_for(Duration::from_secs(1), &mut tu);

    let client: Vec<_> = pair.client.events.iter().map(|(_, e)| e.clone()).collect();
    match &client[..] {
        [Event::Response {
            tx: t, response, ..
        }] => {
            assert_eq!(*t, tx);
            assert_eq!(response.status(), Some(486));
        }
        other => panic!("expected the 486 once, got {other:?}"),
    }
    assert_eq!(
        pair.server.events.len(),
        1,
        "the ACK never reaches the server's TU"
    );

    let invite = pair.net.sent_by(CLIENT, "INVITE ").next().unwrap().clone();
    let acks: Vec<_> = pair.net.sent_by(CLIENT, "ACK ").cloned().collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(
        (acks[0].to, acks[0].transport),
        (Some(SERVER), Transport::Udp)
    );
    let invite = parse(&invite.data);
    let ack = parse(&acks[0].data);
    assert_eq!(ack.uri(), invite.uri());
    assert_eq!(ack.headers.count(&parley_sip::HeaderName::Via), 1);
    assert_eq!(ack.top_via().unwrap(), invite.top_via().unwrap());
    assert_eq!(ack.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(ack.from_header().unwrap(), invite.from_header().unwrap());
    assert_eq!(ack.to_header().unwrap().tag(), Some("callee1"));
    assert_eq!(ack.cseq().unwrap().to_string(), "7 ACK");
    ack.validate().unwrap();

    // The 486 again (its first ACK was lost, say): ACKed again, not delivered again.
    let busy = pair
        .net
        .sent_by(SERVER, "SIP/2.0 486")
        .next()
        .unwrap()
        .data
        .clone();
    let now = pair.now();
    feed(&mut pair.client.endpoint, now, udp_from_server(), &busy);
    assert!(pair.client.endpoint.poll_event().is_none());
    let again = transmits(&mut pair.client.endpoint);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].data, acks[0].data);

    // Timer D (client, 32 s) and Timer I (server, T4) end both transactions.
    pair.drive(&mut no_tu);
    assert_eq!(pair.client.endpoint.transaction_count(), 0);
    assert_eq!(pair.server.endpoint.transaction_count(), 0);
    assert_eq!(pair.client.events.len(), 1, "no timeout after the 486");
}

#[test]
fn a_2xx_ends_the_transaction_and_the_tu_sends_the_ack() {
    let net = SimNetwork::new(4).with_delay(Duration::from_millis(10));
    let mut pair = Pair::new(EndpointConfig::default(), net);
    let tx = call(&mut pair);
    let mut tu = answer_with(200);
    pair.drive_for(Duration::from_millis(100), &mut tu);

    assert!(matches!(
        &pair.client.events[..],
        [(_, Event::Response { tx: t, response, .. })] if *t == tx && response.status() == Some(200)
    ));
    assert_eq!(pair.client.endpoint.transaction_count(), 0);
    assert_eq!(pair.server.endpoint.transaction_count(), 0);
    assert!(pair.net.sent_by(CLIENT, "ACK ").next().is_none());

    // The UAC core acknowledges the 2xx (§13.2.2.4); the ACK has no transaction.
    let ack = parse(
        b"ACK sip:bob@example.test SIP/2.0\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.test>;tag=a73kszlfl\r\n\
To: <sip:bob@example.test>;tag=callee1\r\n\
Call-ID: call1@192.0.2.10\r\n\
CSeq: 7 ACK\r\n\
Content-Length: 0\r\n\r\n",
    );
    let now = pair.now();
    pair.client
        .endpoint
        .send_request(
            now,
            ack,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    assert_eq!(pair.client.endpoint.transaction_count(), 0);
    pair.drive(&mut no_tu);
    match &pair.server.events[..] {
        [(_, Event::Request { tx: Some(_), .. }), (
            _,
            Event::Request {
                tx: None, request, ..
            },
        )] => assert_eq!(request.method(), Some(&Method::Ack)),
        other => panic!("expected the INVITE then the ACK, got {other:?}"),
    }
    assert_eq!(pair.net.sent_by(CLIENT, "ACK ").count(), 1);
    assert!(
        start_line(&pair.net.sent_by(CLIENT, "ACK ").next().unwrap().data)
            .starts_with("ACK sip:bob@example.test")
    );
}
