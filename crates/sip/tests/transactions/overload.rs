//! An endpoint keeps at most `max_transactions` transactions. Answered transactions that only
//! absorb retransmissions make room first (last two tests); a new request beyond that is
//! answered `503 Service Unavailable` with `Retry-After` on the spot, without creating state
//! (RFC 3261 §21.5.4), and the TU is told with `Event::Overloaded` so that the server can count
//! it; sending a request fails with `TooManyTransactions`. Asserted: the 503 and its header
//! fields, that retransmissions of accepted requests and ACKs to 2xx still work when full,
//! that the limit covers client transactions too, and that room frees up as transactions end.

use crate::{
    events, feed, start_line, tcp_from_client, to_server, transmits, udp_from_client, CLIENT,
};
use parley_sip::{Endpoint, EndpointConfig, EndpointError, Event, Transport};
use parley_test_support::fixtures::REGISTER;
use parley_test_support::messages::{parse, uac_request};
use parley_test_support::VirtualClock;

fn register(branch: &str) -> Vec<u8> {
    String::from_utf8_lossy(REGISTER)
        .replace("z9hG4bK776asdhds", branch)
        .into_bytes()
}

#[test]
fn a_full_table_answers_503_statelessly() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let config = EndpointConfig {
        max_transactions: 2,
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::new(config);
    feed(&mut server, now, udp_from_client(), &register("z9hG4bKone"));
    feed(&mut server, now, udp_from_client(), &register("z9hG4bKtwo"));
    assert_eq!(events(&mut server).len(), 2);

    feed(
        &mut server,
        now,
        udp_from_client(),
        &register("z9hG4bKthree"),
    );
    assert_eq!(
        events(&mut server),
        [Event::Overloaded {
            from: udp_from_client()
        }]
    );
    let sent = transmits(&mut server);
    assert_eq!(sent.len(), 1);
    assert_eq!(start_line(&sent[0].data), "SIP/2.0 503 Service Unavailable");
    let response = parse(&sent[0].data);
    response.validate().unwrap();
    assert_eq!(
        response
            .headers
            .get_str(&parley_sip::HeaderName::from_bytes("Retry-After".into())),
        Some("5")
    );
    assert!(response.to_header().unwrap().tag().is_some());
    assert_eq!(server.transaction_count(), 2);

    // Retransmissions are still recognised; nothing new is created.
    feed(&mut server, now, udp_from_client(), &register("z9hG4bKone"));
    assert!(events(&mut server).is_empty());
    assert_eq!(server.transaction_count(), 2);

    // The client side counts too.
    let request = uac_request("OPTIONS", "sip:bob@example.test", "full@192.0.2.10", 1);
    assert_eq!(
        server.send_request(
            now,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT)
        ),
        Err(EndpointError::TooManyTransactions)
    );
}

#[test]
fn room_frees_up_as_transactions_end() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let config = EndpointConfig {
        max_transactions: 1,
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::new(config);
    let tcp = |b: &str| {
        String::from_utf8(register(b))
            .unwrap()
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
    };
    feed(
        &mut server,
        now,
        tcp_from_client(),
        tcp("z9hG4bKa").as_bytes(),
    );
    let [Event::Request {
        tx: Some(tx),
        request,
        ..
    }] = &events(&mut server)[..]
    else {
        panic!("expected the REGISTER");
    };
    feed(
        &mut server,
        now,
        tcp_from_client(),
        tcp("z9hG4bKb").as_bytes(),
    );
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Overloaded { .. }]
    ));
    server
        .respond(now, *tx, request.response(200, "OK", Some("t")))
        .unwrap();
    assert_eq!(server.transaction_count(), 0);
    feed(
        &mut server,
        now,
        tcp_from_client(),
        tcp("z9hG4bKb").as_bytes(),
    );
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Request { tx: Some(_), .. }]
    ));
}

/// Over UDP an answered request's transaction lives on for Timer J (64·T1) only to absorb
/// retransmissions; when the table is full of those, the oldest make room for new requests
/// instead of the new ones getting 503, and a repeat of an evicted request is handled as new.
#[test]
fn answered_transactions_make_room_for_new_requests() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let config = EndpointConfig {
        max_transactions: 2,
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::new(config);
    let answer = |server: &mut Endpoint, branch: &str| {
        feed(server, now, udp_from_client(), &register(branch));
        let [Event::Request {
            tx: Some(tx),
            request,
            ..
        }] = &events(server)[..]
        else {
            panic!("expected the REGISTER with branch {branch}");
        };
        server
            .respond(now, *tx, request.response(200, "OK", Some("t")))
            .unwrap();
        transmits(server);
    };
    answer(&mut server, "z9hG4bKone");
    answer(&mut server, "z9hG4bKtwo");
    assert_eq!(server.transaction_count(), 2);

    // Full of answered transactions: a third request is accepted, not refused.
    answer(&mut server, "z9hG4bKthree");
    assert_eq!(server.transaction_count(), 2);

    // The newest answered one still absorbs its retransmission (the 200 is sent again) …
    feed(
        &mut server,
        now,
        udp_from_client(),
        &register("z9hG4bKthree"),
    );
    assert!(events(&mut server).is_empty());
    let sent = transmits(&mut server);
    assert_eq!(start_line(&sent[0].data), "SIP/2.0 200 OK");
    // … the evicted oldest is a new request again.
    feed(&mut server, now, udp_from_client(), &register("z9hG4bKone"));
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Request { tx: Some(_), .. }]
    ));
}

/// A proxy's table holds many live client transactions whose Timer E fires long before any
/// answered transaction's Timer J: those live ones must not hide the answered ones that can
/// make room (the bench's MESSAGE run lost 5 % of its requests to 503 this way).
#[test]
fn answered_transactions_make_room_behind_many_live_ones() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let config = EndpointConfig {
        max_transactions: 102,
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::new(config);
    for branch in ["z9hG4bKone", "z9hG4bKtwo"] {
        feed(&mut server, now, udp_from_client(), &register(branch));
        let [Event::Request {
            tx: Some(tx),
            request,
            ..
        }] = &events(&mut server)[..]
        else {
            panic!("expected the REGISTER with branch {branch}");
        };
        server
            .respond(now, *tx, request.response(200, "OK", Some("t")))
            .unwrap();
    }
    // A hundred relayed requests waiting for their answers (Timer E in 500 ms).
    for n in 0..100 {
        let request = uac_request("MESSAGE", "sip:bob@example.test", "live@192.0.2.10", n);
        server
            .send_request(
                now,
                request,
                to_server(Transport::Udp),
                (Transport::Udp, CLIENT),
            )
            .unwrap();
    }
    transmits(&mut server);
    assert_eq!(server.transaction_count(), 102);

    feed(
        &mut server,
        now,
        udp_from_client(),
        &register("z9hG4bKthree"),
    );
    assert!(matches!(
        &events(&mut server)[..],
        [Event::Request { tx: Some(_), .. }]
    ));
    assert_eq!(server.transaction_count(), 102);
}
