//! A busy endpoint does not leak: once every timer has fired, every transaction it created —
//! client and server, INVITE and non-INVITE, completed, rejected, acknowledged or timed out,
//! over UDP and TCP — has been destroyed (RFC 3261 §17: "destroyed the instant it enters the
//! Terminated state"). Asserted: `transaction_count()` is zero on both sides and
//! `poll_timeout()` is `None` after driving the pair until nothing is left to do, and the
//! counts seen along the way.

use crate::{to_server, CLIENT};
use parley_sip::{Endpoint, EndpointConfig, Event, Method, Transport};
use parley_test_support::messages::uac_request;
use parley_test_support::{Pair, Side, SimNetwork};
use std::time::{Duration, Instant};

/// A server TU: MESSAGE → 200, INVITE with CSeq 2 → 486, other INVITEs → 200; OPTIONS is
/// left unanswered here (the test answers it late, by hand).
fn tu(side: Side, now: Instant, ep: &mut Endpoint, e: &Event) {
    let (
        Side::Server,
        Event::Request {
            tx: Some(tx),
            request,
            ..
        },
    ) = (side, e)
    else {
        return;
    };
    let seq = request.cseq().unwrap().seq;
    let response = match (request.method().unwrap(), seq) {
        (Method::Message, _) => request.response(200, "OK", Some("s")),
        (Method::Invite, 2) => request.response(486, "Busy Here", Some("s")),
        (Method::Invite, _) => request.response(200, "OK", Some("s")),
        _ => return,
    };
    ep.respond(now, *tx, response).unwrap();
}

#[test]
fn every_transaction_is_gone_after_its_timers() {
    let net = SimNetwork::new(9).with_delay(Duration::from_millis(5));
    let mut pair = Pair::new(EndpointConfig::default(), net);
    let now = pair.now();
    let sends = [
        ("MESSAGE", 1, Transport::Udp),
        ("INVITE", 2, Transport::Udp),
        ("INVITE", 3, Transport::Udp),
        ("MESSAGE", 4, Transport::Tcp),
        ("INVITE", 5, Transport::Tcp),
        ("OPTIONS", 6, Transport::Udp),
    ];
    for (method, seq, transport) in sends {
        let call_id = format!("cleanup{seq}@192.0.2.10");
        let request = uac_request(method, "sip:bob@example.test", &call_id, seq);
        pair.client
            .endpoint
            .send_request(now, request, to_server(transport), (transport, CLIENT))
            .unwrap();
    }
    assert_eq!(pair.client.endpoint.transaction_count(), 6);
    pair.drive_for(Duration::from_secs(1), &mut tu);
    // Left on the client: the UDP MESSAGE (Timer K), the INVITE rejected 486 (Timer D) and
    // the OPTIONS (Timer F). On the server: the UDP MESSAGE (Timer J), the acknowledged 486
    // INVITE (Timer I) and the unanswered OPTIONS. Everything over TCP and every 2xx to
    // INVITE has ended already.
    assert_eq!(pair.client.endpoint.transaction_count(), 3);
    assert_eq!(pair.server.endpoint.transaction_count(), 3);

    // The server's TU finally answers the OPTIONS, long after the client gave up.
    pair.drive_for(Duration::from_secs(40), &mut tu);
    let options_tx = pair
        .server
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Request {
                tx: Some(tx),
                request,
                ..
            } if request.method() == Some(&Method::Options) => Some((*tx, request.clone())),
            _ => None,
        })
        .unwrap();
    let now = pair.now();
    pair.server
        .endpoint
        .respond(
            now,
            options_tx.0,
            options_tx.1.response(200, "OK", Some("late")),
        )
        .unwrap();
    pair.drive(&mut tu);

    for node in [&pair.client, &pair.server] {
        assert_eq!(node.endpoint.transaction_count(), 0);
        assert_eq!(node.endpoint.poll_timeout(), None);
    }
    let timeouts = pair
        .client
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
        .count();
    assert_eq!(timeouts, 1, "only the OPTIONS timed out");
    // The late 200 to the OPTIONS found no transaction on the client.
    assert!(pair
        .client
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::StrayResponse { .. })));
}
