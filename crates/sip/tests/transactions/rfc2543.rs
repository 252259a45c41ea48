//! An old RFC 2543 phone, whose Via has no branch or one without the magic cookie, still gets
//! transaction behaviour: requests are matched on Request-URI, To tag, From tag, Call-ID, CSeq
//! and top Via (RFC 3261 §17.2.3, last paragraphs), the ACK for a non-2xx response by the To
//! tag of that response, and a CANCEL finds its INVITE the same way (§9.2). A branch that is
//! exactly the bare cookie `z9hG4bK` identifies nothing and falls back to these rules too.
//! Asserted: retransmissions absorbed, the CANCEL target found (even though the server stamps
//! `received` on the delivered request's Via), the ACK with the response's tag absorbed while
//! an ACK with another tag reaches the TU, and distinct requests under a bare cookie kept apart.

use crate::{events, feed, transmits, udp_from_client};
use parley_sip::transaction::{InviteServerState, TransactionState};
use parley_sip::{Endpoint, EndpointConfig, Event, Message, TransactionId};
use parley_test_support::VirtualClock;

fn legacy(method: &str, to_tag: &str, call_id: &str) -> Vec<u8> {
    format!(
        "{method} sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.test:5060\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.test>{to_tag}\r\n\
From: Alice <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn delivered(server: &mut Endpoint) -> Vec<(Option<TransactionId>, Message)> {
    events(server)
        .into_iter()
        .map(|e| match e {
            Event::Request { tx, request, .. } => (tx, request),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn invite_cancel_and_ack_without_branches() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let invite = legacy("INVITE", "", "legacy1@192.0.2.10");
    feed(&mut server, now, udp_from_client(), &invite);
    feed(&mut server, now, udp_from_client(), &invite);
    let got = delivered(&mut server);
    assert_eq!(got.len(), 1, "the retransmission is absorbed");
    let (Some(invite_tx), invite_request) = got[0].clone() else {
        panic!("no transaction");
    };
    assert!(invite_request
        .headers
        .get_str(&parley_sip::HeaderName::Via)
        .unwrap()
        .contains("received=192.0.2.10"));

    feed(
        &mut server,
        now,
        udp_from_client(),
        &legacy("CANCEL", "", "legacy1@192.0.2.10"),
    );
    let got = delivered(&mut server);
    let (Some(cancel_tx), cancel) = got[0].clone() else {
        panic!("no transaction");
    };
    assert_eq!(server.cancel_target(&cancel), Some(invite_tx));
    server
        .respond(now, cancel_tx, cancel.response(200, "OK", Some("l1")))
        .unwrap();
    server
        .respond(
            now,
            invite_tx,
            invite_request.response(487, "Request Terminated", Some("l1")),
        )
        .unwrap();
    assert_eq!(transmits(&mut server).len(), 2);

    // An ACK carrying another To tag acknowledges some other response: it goes to the TU.
    feed(
        &mut server,
        now,
        udp_from_client(),
        &legacy("ACK", ";tag=zz", "legacy1@192.0.2.10"),
    );
    assert!(matches!(&delivered(&mut server)[..], [(None, _)]));
    // The ACK with the 487's tag belongs to the INVITE transaction.
    feed(
        &mut server,
        now,
        udp_from_client(),
        &legacy("ACK", ";tag=l1", "legacy1@192.0.2.10"),
    );
    assert!(delivered(&mut server).is_empty());
    assert_eq!(
        server.transaction_state(invite_tx),
        Some(TransactionState::InviteServer(InviteServerState::Confirmed))
    );
}

#[test]
fn a_bare_cookie_branch_falls_back_to_legacy_matching() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let with_branch = |call_id: &str, branch: &str| {
        String::from_utf8(legacy("MESSAGE", "", call_id))
            .unwrap()
            .replace(
                "pc33.example.test:5060",
                &format!("pc33.example.test:5060;branch={branch}"),
            )
    };
    let first = with_branch("one@192.0.2.10", "z9hG4bK");
    let second = with_branch("two@192.0.2.10", "z9hG4bK");
    let third = with_branch("three@192.0.2.10", "390skdjuw");
    for m in [&first, &second, &first, &third, &third] {
        feed(&mut server, now, udp_from_client(), m.as_bytes());
    }
    let got = delivered(&mut server);
    let ids: Vec<_> = got.iter().map(|(tx, _)| tx.unwrap()).collect();
    assert_eq!(
        ids.len(),
        3,
        "two share a bare cookie but are different requests"
    );
    assert_eq!(server.transaction_count(), 3);
}
