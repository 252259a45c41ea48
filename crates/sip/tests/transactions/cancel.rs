//! Cancelling an INVITE (RFC 3261 §9.1). A caller whose callee rings hangs up: the TU asks
//! [`Endpoint::cancel`] and the CANCEL goes out at once, to the INVITE's destination, with the
//! INVITE's Request-URI, Call-ID, To, From, CSeq number and top Via (so the callee's endpoint
//! matches it to the INVITE); the callee answers the CANCEL `200` and the INVITE `487`, and
//! both client transactions complete. Asked for before anything came back, the CANCEL is held
//! until the first provisional response and dropped unsent if the final response (or the
//! timeout) comes first ([`Event::CancelDropped`]). A cancelled INVITE that never gets its
//! final response ends 64·T1 after the CANCEL (Timer B). Asserted: the CANCEL's header
//! fields, what is on the wire when, the events on both sides, the errors for what cannot be
//! cancelled, and that every transaction ends.

use crate::{
    events, feed, ms, run_timers, to_server, transmits, udp_from_client, udp_from_server, CLIENT,
    SERVER, SERVER_TAG,
};
use parley_sip::transaction::{NonInviteClientState, TransactionState};
use parley_sip::{
    Endpoint, EndpointConfig, EndpointError, Event, HeaderName, Message, Method, TransactionId,
    Transport,
};
use parley_test_support::messages::{parse, uac_request};
use parley_test_support::{no_tu, Pair, Side, SimNetwork, VirtualClock};
use std::time::{Duration, Instant};

/// Sends an INVITE from a lone client endpoint; its transaction and the INVITE as sent.
fn invite(client: &mut Endpoint, now: Instant, call_id: &str) -> (TransactionId, Message) {
    let request = uac_request("INVITE", "sip:bob@example.test", call_id, 7);
    let tx = client
        .send_request(
            now,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    let sent = transmits(client);
    assert_eq!(sent.len(), 1);
    (tx, parse(&sent[0].data))
}

/// The callee's answer to `request` (as sent by the client), printed.
fn answer(request: &Message, code: u16) -> Vec<u8> {
    let mut r = request.response(code, "Reason", Some(SERVER_TAG));
    r.set_content_length();
    r.to_bytes().to_vec()
}

/// Asserts that `cancel` is the CANCEL of `invite` as §9.1 builds it.
fn assert_cancels(cancel: &Message, invite: &Message) {
    assert_eq!(cancel.method(), Some(&Method::Cancel));
    assert_eq!(cancel.uri(), invite.uri());
    assert_eq!(cancel.headers.count(&HeaderName::Via), 1, "a single Via");
    assert_eq!(cancel.top_via().unwrap(), invite.top_via().unwrap());
    assert_eq!(cancel.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(cancel.from_header().unwrap(), invite.from_header().unwrap());
    assert_eq!(cancel.to_header().unwrap(), invite.to_header().unwrap());
    assert_eq!(cancel.cseq().unwrap().to_string(), "7 CANCEL");
    assert_eq!(cancel.max_forwards().unwrap(), Some(70));
    assert!(cancel.headers.get(&HeaderName::Require).is_none());
    cancel.validate().unwrap();
}

fn status_of(events: &[Event], tx: TransactionId) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response {
                tx: t, response, ..
            } if *t == tx => response.status(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_cancel_after_ringing_goes_out_at_once_and_both_transactions_complete() {
    let net = SimNetwork::new(11).with_delay(ms(10));
    let mut pair = Pair::new(EndpointConfig::default(), net);
    let now = pair.now();
    let request = uac_request("INVITE", "sip:bob@example.test", "cancel1@192.0.2.10", 7);
    let invite_tx = pair
        .client
        .endpoint
        .send_request(
            now,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();

    // The callee rings, and answers a CANCEL 200 and then its INVITE 487 (§9.2). The caller
    // cancels as soon as it hears the ringing.
    let mut at_callee: Option<Message> = None;
    let mut cancel_tx = None;
    let mut tu = |side: Side, now: Instant, ep: &mut Endpoint, e: &Event| match (side, e) {
        (
            Side::Server,
            Event::Request {
                tx: Some(tx),
                request,
                ..
            },
        ) => match request.method() {
            Some(Method::Invite) => {
                ep.respond(now, *tx, request.response(180, "Ringing", Some(SERVER_TAG)))
                    .unwrap();
                at_callee = Some(request.clone());
            }
            Some(Method::Cancel) => {
                let target = ep.cancel_target(request).expect("the CANCEL matches");
                ep.respond(now, *tx, request.response(200, "OK", Some(SERVER_TAG)))
                    .unwrap();
                let invite = at_callee.as_ref().unwrap();
                let terminated = invite.response(487, "Request Terminated", Some(SERVER_TAG));
                ep.respond(now, target, terminated).unwrap();
            }
            _ => {}
        },
        (Side::Client, Event::Response { tx, response, .. })
            if *tx == invite_tx && response.status() == Some(180) =>
        {
            cancel_tx = Some(ep.cancel(now, *tx).unwrap());
        }
        _ => {}
    };
    pair.drive_for(Duration::from_secs(1), &mut tu);
    let cancel_tx = cancel_tx.expect("the caller cancelled");

    let client: Vec<Event> = pair.client.events.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(status_of(&client, invite_tx), [180, 487]);
    assert_eq!(status_of(&client, cancel_tx), [200]);

    let sent_invite = parse(&pair.net.sent_by(CLIENT, "INVITE ").next().unwrap().data);
    let cancels: Vec<_> = pair.net.sent_by(CLIENT, "CANCEL ").cloned().collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(
        (cancels[0].to, cancels[0].transport),
        (Some(SERVER), Transport::Udp),
        "the INVITE's destination"
    );
    assert_cancels(&parse(&cancels[0].data), &sent_invite);
    assert_eq!(
        pair.net.sent_by(CLIENT, "ACK ").count(),
        1,
        "the 487 is acknowledged by the transaction"
    );

    pair.drive(&mut no_tu);
    assert_eq!(pair.client.endpoint.transaction_count(), 0);
    assert_eq!(pair.server.endpoint.transaction_count(), 0);
    assert!(
        !pair
            .client
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::Timeout { .. } | Event::CancelDropped { .. })),
        "nothing timed out"
    );
}

#[test]
fn a_cancel_before_any_provisional_response_is_held_until_one_arrives() {
    let mut clock = VirtualClock::new();
    let start = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());
    let (invite_tx, sent_invite) = invite(&mut client, start, "held@192.0.2.10");

    let cancel_tx = client.cancel(start, invite_tx).unwrap();
    assert!(transmits(&mut client).is_empty(), "nothing before a 1xx");
    assert_eq!(
        client.transaction_state(cancel_tx),
        Some(TransactionState::NonInviteClient(
            NonInviteClientState::Trying
        ))
    );
    assert_eq!(
        client.cancel(start, invite_tx),
        Err(EndpointError::AlreadyCancelled)
    );

    // Timer A retransmits the INVITE; the CANCEL still waits.
    let sent = run_timers(&mut client, &mut clock, start + ms(600));
    assert_eq!(sent.len(), 1);
    assert_eq!(parse(&sent[0].1.data).method(), Some(&Method::Invite));

    // The first provisional response releases it.
    let now = clock.now();
    feed(
        &mut client,
        now,
        udp_from_server(),
        &answer(&sent_invite, 180),
    );
    assert_eq!(status_of(&events(&mut client), invite_tx), [180]);
    let sent = transmits(&mut client);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, to_server(Transport::Udp));
    let cancel_bytes = sent[0].data.clone();
    let cancel = parse(&cancel_bytes);
    assert_cancels(&cancel, &sent_invite);

    // Unanswered, the CANCEL is retransmitted by Timer E like any non-INVITE request.
    let sent = run_timers(&mut client, &mut clock, now + ms(600));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.data, cancel_bytes);

    // 200 to the CANCEL, then 487 to the INVITE: both complete, the 487 is acknowledged.
    let now = clock.now();
    feed(&mut client, now, udp_from_server(), &answer(&cancel, 200));
    feed(
        &mut client,
        now,
        udp_from_server(),
        &answer(&sent_invite, 487),
    );
    let seen = events(&mut client);
    assert_eq!(status_of(&seen, cancel_tx), [200]);
    assert_eq!(status_of(&seen, invite_tx), [487]);
    let sent = transmits(&mut client);
    assert_eq!(sent.len(), 1);
    assert_eq!(parse(&sent[0].data).method(), Some(&Method::Ack));
    run_timers(&mut client, &mut clock, now + Duration::from_secs(60));
    assert_eq!(client.transaction_count(), 0);
}

#[test]
fn a_held_cancel_is_dropped_when_the_final_response_or_the_timeout_comes_first() {
    let mut clock = VirtualClock::new();
    let now = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());

    // Busy: the 486 comes first. Only the ACK goes out.
    let (invite_tx, sent_invite) = invite(&mut client, now, "busy@192.0.2.10");
    let cancel_tx = client.cancel(now, invite_tx).unwrap();
    feed(
        &mut client,
        now,
        udp_from_server(),
        &answer(&sent_invite, 486),
    );
    let seen = events(&mut client);
    assert_eq!(status_of(&seen, invite_tx), [486]);
    assert_eq!(
        seen.last(),
        Some(&Event::CancelDropped {
            tx: cancel_tx,
            invite: invite_tx
        })
    );
    let sent = transmits(&mut client);
    assert_eq!(sent.len(), 1);
    assert_eq!(parse(&sent[0].data).method(), Some(&Method::Ack));
    assert_eq!(client.transaction_state(cancel_tx), None);
    assert_eq!(
        client.cancel(now, invite_tx),
        Err(EndpointError::InviteAnswered)
    );

    // Answered: the 2xx ends the INVITE transaction; nothing is sent.
    let (invite_tx, sent_invite) = invite(&mut client, now, "answered@192.0.2.10");
    let cancel_tx = client.cancel(now, invite_tx).unwrap();
    feed(
        &mut client,
        now,
        udp_from_server(),
        &answer(&sent_invite, 200),
    );
    assert_eq!(
        events(&mut client).last(),
        Some(&Event::CancelDropped {
            tx: cancel_tx,
            invite: invite_tx
        })
    );
    assert!(transmits(&mut client).is_empty());
    assert_eq!(
        client.cancel(now, invite_tx),
        Err(EndpointError::UnknownTransaction)
    );

    // Nobody there: Timer B ends the INVITE, then the CANCEL is dropped.
    let (invite_tx, _) = invite(&mut client, now, "silent@192.0.2.10");
    let cancel_tx = client.cancel(now, invite_tx).unwrap();
    let sent = run_timers(&mut client, &mut clock, now + Duration::from_secs(60));
    assert!(sent
        .iter()
        .all(|(_, t)| parse(&t.data).method() == Some(&Method::Invite)));
    let seen = events(&mut client);
    assert!(matches!(
        &seen[..],
        [Event::Timeout { tx }, Event::CancelDropped { tx: c, invite: i }]
            if *tx == invite_tx && *c == cancel_tx && *i == invite_tx
    ));
    run_timers(&mut client, &mut clock, now + Duration::from_secs(120));
    assert_eq!(client.transaction_count(), 0);
}

#[test]
fn a_cancelled_invite_without_a_final_response_ends_after_64_t1() {
    let mut clock = VirtualClock::new();
    let start = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());
    let (invite_tx, sent_invite) = invite(&mut client, start, "rfc2543@192.0.2.10");
    feed(
        &mut client,
        start,
        udp_from_server(),
        &answer(&sent_invite, 180),
    );
    events(&mut client);

    // Ringing for a minute: a proceeding INVITE waits as long as its TU does.
    run_timers(&mut client, &mut clock, start + Duration::from_secs(60));
    assert!(events(&mut client).is_empty());

    // Cancelled; the callee (an RFC 2543 UAS, say) answers the CANCEL but never the INVITE.
    let cancelled = clock.now();
    let cancel_tx = client.cancel(cancelled, invite_tx).unwrap();
    let cancel = parse(&transmits(&mut client)[0].data);
    feed(
        &mut client,
        cancelled,
        udp_from_server(),
        &answer(&cancel, 200),
    );
    assert_eq!(status_of(&events(&mut client), cancel_tx), [200]);
    run_timers(&mut client, &mut clock, cancelled + Duration::from_secs(31));
    assert!(events(&mut client).is_empty());
    run_timers(&mut client, &mut clock, cancelled + Duration::from_secs(33));
    assert_eq!(events(&mut client), [Event::Timeout { tx: invite_tx }]);
    assert_eq!(client.transaction_count(), 0);
}

#[test]
fn only_an_invite_client_transaction_can_be_cancelled() {
    let clock = VirtualClock::new();
    let now = clock.now();
    let mut ep = Endpoint::new(EndpointConfig::default());
    let message = uac_request("MESSAGE", "sip:bob@example.test", "msg@192.0.2.10", 1);
    let message_tx = ep
        .send_request(
            now,
            message,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    assert_eq!(ep.cancel(now, message_tx), Err(EndpointError::NotAnInvite));

    feed(&mut ep, now, udp_from_client(), crate::INVITE);
    let server_tx = match &events(&mut ep)[..] {
        [Event::Request { tx: Some(tx), .. }] => *tx,
        other => panic!("expected the INVITE, got {other:?}"),
    };
    assert_eq!(ep.cancel(now, server_tx), Err(EndpointError::NotAnInvite));
    assert_eq!(
        ep.cancel(now, TransactionId(9999)),
        Err(EndpointError::UnknownTransaction)
    );
    assert_eq!(transmits(&mut ep).len(), 1, "only the MESSAGE went out");
}
