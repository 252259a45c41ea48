//! The server side of an INVITE (RFC 3261 §17.2.1). A caller whose INVITE the TU leaves
//! unanswered hears `100 Trying` after 200 ms; a TU that rings at once suppresses it. A
//! `486 Busy Here` over UDP is retransmitted by Timer G (T1, 2·T1, 4·T1, T2 …) and re-sent for
//! each INVITE retransmission until the ACK arrives; the ACK is absorbed (the TU never sees
//! it), the transaction absorbs further INVITEs and ACKs in "Confirmed" and ends T4 later
//! (Timer I). A 2xx ends the transaction at once and the ACK for it reaches the TU with no
//! transaction. A CANCEL is its own transaction and `cancel_target` finds the INVITE it
//! cancels, so the TU can answer 200 and 487.

use crate::{
    events, feed, ms, run_timers, start_line, transmits, udp_from_client, ACK_2XX, ACK_NON_2XX,
    CANCEL, INVITE, SERVER_TAG,
};
use parley_sip::transaction::{InviteServerState, TransactionState};
use parley_sip::{Endpoint, EndpointConfig, EndpointError, Event, Message, Method, TransactionId};
use parley_test_support::VirtualClock;

/// Feeds the INVITE and returns its transaction and the request as delivered.
fn invite(server: &mut Endpoint, clock: &VirtualClock) -> (TransactionId, Message) {
    feed(server, clock.now(), udp_from_client(), INVITE);
    match &events(server)[..] {
        [Event::Request {
            tx: Some(tx),
            request,
            ..
        }] => (*tx, request.clone()),
        other => panic!("expected the INVITE, got {other:?}"),
    }
}

fn state(server: &Endpoint, tx: TransactionId) -> Option<InviteServerState> {
    match server.transaction_state(tx)? {
        TransactionState::InviteServer(s) => Some(s),
        other => panic!("not an INVITE server transaction: {other:?}"),
    }
}

#[test]
fn busy_here_is_retransmitted_by_timer_g_until_the_ack_then_timer_i_ends_it() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let (tx, request) = invite(&mut server, &clock);
    assert!(transmits(&mut server).is_empty());

    // The TU is silent: the transaction sends 100 Trying itself after 200 ms, without a tag.
    let sent = run_timers(&mut server, &mut clock, t0 + ms(999));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, ms(200));
    assert_eq!(start_line(&sent[0].1.data), "SIP/2.0 100 Trying");
    let trying = String::from_utf8_lossy(&sent[0].1.data).into_owned();
    assert!(trying.contains("To: Bob <sip:bob@example.test>\r\n"));

    clock.advance_to(t0 + ms(1_000));
    let busy = request.response(486, "Busy Here", Some(SERVER_TAG));
    server.respond(clock.now(), tx, busy).unwrap();
    let first = transmits(&mut server);
    assert_eq!(start_line(&first[0].data), "SIP/2.0 486 Busy Here");
    assert_eq!(state(&server, tx), Some(InviteServerState::Completed));

    // An INVITE retransmission draws the 486 again and is not delivered.
    feed(&mut server, t0 + ms(1_200), udp_from_client(), INVITE);
    assert!(events(&mut server).is_empty());
    assert_eq!(transmits(&mut server), first);

    // Timer G: T1, 2·T1, 4·T1, then T2, from the first 486.
    let retransmitted = run_timers(&mut server, &mut clock, t0 + ms(10_000));
    let times: Vec<_> = retransmitted.iter().map(|(at, _)| *at).collect();
    assert_eq!(times, [ms(1_500), ms(2_500), ms(4_500), ms(8_500)]);
    assert!(retransmitted.iter().all(|(_, t)| t.data == first[0].data));

    // The ACK: absorbed, retransmissions stop, Timer I runs for T4.
    feed(&mut server, clock.now(), udp_from_client(), ACK_NON_2XX);
    assert!(events(&mut server).is_empty());
    assert!(transmits(&mut server).is_empty());
    assert_eq!(state(&server, tx), Some(InviteServerState::Confirmed));
    assert_eq!(server.poll_timeout(), Some(t0 + ms(15_000)));

    // In "Confirmed" late INVITEs and ACKs are absorbed silently.
    feed(&mut server, t0 + ms(11_000), udp_from_client(), INVITE);
    feed(&mut server, t0 + ms(11_000), udp_from_client(), ACK_NON_2XX);
    assert!(events(&mut server).is_empty());
    assert!(transmits(&mut server).is_empty());

    assert!(run_timers(&mut server, &mut clock, t0 + ms(20_000)).is_empty());
    assert_eq!(state(&server, tx), None);
    assert_eq!(server.transaction_count(), 0);
}

#[test]
fn a_tu_that_rings_within_200_ms_suppresses_the_100() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let (tx, request) = invite(&mut server, &clock);
    clock.advance(ms(50));
    let ringing = request.response(180, "Ringing", Some(SERVER_TAG));
    server.respond(clock.now(), tx, ringing).unwrap();
    let sent = transmits(&mut server);
    assert_eq!(start_line(&sent[0].data), "SIP/2.0 180 Ringing");
    assert!(run_timers(&mut server, &mut clock, t0 + ms(5_000)).is_empty());
    // A retransmitted INVITE draws the latest provisional response.
    feed(&mut server, clock.now(), udp_from_client(), INVITE);
    assert_eq!(transmits(&mut server), sent);
    assert_eq!(state(&server, tx), Some(InviteServerState::Proceeding));
}

#[test]
fn a_2xx_ends_the_transaction_and_its_ack_goes_to_the_tu() {
    let clock = VirtualClock::new();
    let mut server = Endpoint::new(EndpointConfig::default());
    let (tx, request) = invite(&mut server, &clock);
    let ok = request.response(200, "OK", Some(SERVER_TAG));
    server.respond(clock.now(), tx, ok.clone()).unwrap();
    let sent = transmits(&mut server);
    assert_eq!(start_line(&sent[0].data), "SIP/2.0 200 OK");
    assert_eq!(server.transaction_count(), 0);
    assert!(server.poll_timeout().is_none());
    assert_eq!(
        server.respond(clock.now(), tx, ok.clone()),
        Err(EndpointError::UnknownTransaction)
    );

    // The UAS core retransmits the 2xx itself (§13.3.1.4), to the same place.
    server
        .respond_stateless(clock.now(), udp_from_client(), ok)
        .unwrap();
    assert_eq!(transmits(&mut server), sent);

    feed(&mut server, clock.now(), udp_from_client(), ACK_2XX);
    match &events(&mut server)[..] {
        [Event::Request {
            tx: None, request, ..
        }] => assert_eq!(request.method(), Some(&Method::Ack)),
        other => panic!("expected the ACK with no transaction, got {other:?}"),
    }
}

#[test]
fn cancel_finds_the_invite_then_200_and_487() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let (invite_tx, invite_request) = invite(&mut server, &clock);
    let ringing = invite_request.response(180, "Ringing", Some(SERVER_TAG));
    server.respond(now, invite_tx, ringing).unwrap();
    transmits(&mut server);
    assert_eq!(server.cancel_target(&invite_request), None, "not a CANCEL");

    feed(&mut server, now, udp_from_client(), CANCEL);
    let (cancel_tx, cancel) = match &events(&mut server)[..] {
        [Event::Request {
            tx: Some(tx),
            request,
            ..
        }] => (*tx, request.clone()),
        other => panic!("expected the CANCEL, got {other:?}"),
    };
    assert_ne!(cancel_tx, invite_tx, "a CANCEL is a transaction of its own");
    assert_eq!(server.cancel_target(&cancel), Some(invite_tx));

    server
        .respond(now, cancel_tx, cancel.response(200, "OK", Some(SERVER_TAG)))
        .unwrap();
    server
        .respond(
            now,
            invite_tx,
            invite_request.response(487, "Request Terminated", Some(SERVER_TAG)),
        )
        .unwrap();
    let lines: Vec<_> = transmits(&mut server)
        .iter()
        .map(|t| start_line(&t.data))
        .collect();
    assert_eq!(lines, ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]);

    // A CANCEL arriving after the final response still finds the transaction, but the INVITE
    // can no longer be answered.
    assert_eq!(server.cancel_target(&cancel), Some(invite_tx));
    assert_eq!(
        server.respond(
            now,
            invite_tx,
            invite_request.response(487, "Request Terminated", Some(SERVER_TAG))
        ),
        Err(EndpointError::AlreadyAnswered)
    );

    // The caller's ACK for the 487 belongs to the INVITE transaction.
    feed(&mut server, now, udp_from_client(), ACK_NON_2XX);
    assert!(events(&mut server).is_empty());
    assert_eq!(
        state(&server, invite_tx),
        Some(InviteServerState::Confirmed)
    );

    // A CANCEL for another INVITE matches nothing (the TU answers it 481).
    let other = String::from_utf8_lossy(CANCEL).replace("z9hG4bKnashds8", "z9hG4bKother1");
    let other = parley_test_support::messages::parse(other.as_bytes());
    assert_eq!(server.cancel_target(&other), None);
}
