//! A REGISTER retransmitted by a phone reaches the server's TU once; each copy that arrives
//! later draws the last response the server sent, and nothing while it has sent none
//! (RFC 3261 §17.2.2). Asserted: one `Event::Request`; no transmit for a retransmission in
//! "Trying"; the 100 then the 200 re-sent, byte for byte, in "Proceeding" and "Completed"; a
//! second final response refused; Timer J (64·T1) over UDP ends the transaction, after which
//! the same request is new again; over TCP Timer J is zero and the transaction ends with its
//! final response.

use crate::{events, feed, tcp_from_client, transmits, udp_from_client};
use parley_sip::transaction::{NonInviteServerState, TransactionState};
use parley_sip::{Destination, Endpoint, EndpointConfig, EndpointError, Event, Transport};
use parley_test_support::fixtures::REGISTER;
use parley_test_support::VirtualClock;
use std::time::Duration;

#[test]
fn retransmissions_are_absorbed_and_answered_with_the_last_response() {
    let clock = VirtualClock::new();
    let mut server = Endpoint::new(EndpointConfig::default());
    let t0 = clock.now();

    feed(&mut server, t0, udp_from_client(), REGISTER);
    let first = events(&mut server);
    let [Event::Request {
        tx: Some(tx),
        request,
        ..
    }] = &first[..]
    else {
        panic!("expected one request, got {first:?}");
    };
    let tx = *tx;

    // Retransmitted while the TU thinks: absorbed, nothing to re-send yet.
    feed(
        &mut server,
        t0 + Duration::from_millis(500),
        udp_from_client(),
        REGISTER,
    );
    assert!(events(&mut server).is_empty());
    assert!(transmits(&mut server).is_empty());

    server
        .respond(t0, tx, request.response(100, "Trying", None))
        .unwrap();
    let trying = transmits(&mut server);
    assert_eq!(trying.len(), 1);
    // The phone asked for rport (RFC 3581): the answer goes to the source address.
    assert_eq!(
        trying[0].destination,
        Destination::Address {
            transport: Transport::Udp,
            addr: "192.0.2.10:5060".parse().unwrap()
        }
    );
    feed(
        &mut server,
        t0 + Duration::from_secs(1),
        udp_from_client(),
        REGISTER,
    );
    assert!(events(&mut server).is_empty());
    assert_eq!(transmits(&mut server), trying, "the 100 is re-sent");

    let ok = request.response(200, "OK", Some("reg-tag-1"));
    server.respond(t0, tx, ok.clone()).unwrap();
    let sent = transmits(&mut server);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        server.transaction_state(tx),
        Some(TransactionState::NonInviteServer(
            NonInviteServerState::Completed
        ))
    );
    assert_eq!(
        server.respond(t0, tx, request.response(500, "Oops", Some("x"))),
        Err(EndpointError::AlreadyAnswered)
    );
    assert!(transmits(&mut server).is_empty());

    for k in 2..5 {
        feed(
            &mut server,
            t0 + Duration::from_secs(k),
            udp_from_client(),
            REGISTER,
        );
        assert!(events(&mut server).is_empty(), "never re-delivered");
        assert_eq!(transmits(&mut server), sent, "the 200 is re-sent as it was");
    }

    // Timer J: 64·T1 after the final response.
    assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    server.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(server.transaction_count(), 0);
    assert_eq!(server.transaction_state(tx), None);
    assert!(server.poll_timeout().is_none());

    // Now the same bytes start a new transaction.
    feed(
        &mut server,
        t0 + Duration::from_secs(33),
        udp_from_client(),
        REGISTER,
    );
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Request { tx: Some(t), .. }] if *t != tx
    ));
}

#[test]
fn over_tcp_the_transaction_ends_with_its_final_response() {
    let clock = VirtualClock::new();
    let mut server = Endpoint::new(EndpointConfig::default());
    let t0 = clock.now();
    let register = String::from_utf8_lossy(REGISTER).replace("SIP/2.0/UDP", "SIP/2.0/TCP");

    feed(&mut server, t0, tcp_from_client(), register.as_bytes());
    let [Event::Request {
        tx: Some(tx),
        request,
        ..
    }] = &events(&mut server)[..]
    else {
        panic!("expected one request");
    };
    feed(&mut server, t0, tcp_from_client(), register.as_bytes());
    assert!(events(&mut server).is_empty());
    server
        .respond(t0, *tx, request.response(200, "OK", Some("t")))
        .unwrap();
    let sent = transmits(&mut server);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].destination,
        Destination::Connection(parley_sip::ConnectionId(1))
    );
    assert_eq!(
        sent[0].fallback,
        Some(Destination::Address {
            transport: Transport::Tcp,
            addr: crate::CLIENT
        })
    );
    assert_eq!(server.transaction_count(), 0, "Timer J is zero on TCP");
    assert!(server.poll_timeout().is_none());
}
