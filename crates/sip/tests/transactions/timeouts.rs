//! Transactions that never complete end with one `Event::Timeout` (RFC 3261 §17). A caller whose
//! INVITE goes unanswered over UDP retransmits it by Timer A (after T1, 2·T1, 4·T1 …, doubling
//! with no cap: seven sends in all) and its TU hears of the failure at 64·T1 (Timer B). A
//! server whose `486` is never acknowledged retransmits it by Timer G and gives up at 64·T1
//! (Timer H), telling its TU. Asserted: the send times, the timeout instants, one timeout per
//! transaction, that a timeout due at the same instant as a retransmission wins, and that
//! nothing is left afterwards.

use crate::{events, feed, ms, run_timers, start_line, to_server, udp_from_client, CLIENT, INVITE};
use parley_sip::{Endpoint, EndpointConfig, Event, Transport};
use parley_test_support::messages::uac_request;
use parley_test_support::VirtualClock;

#[test]
fn unanswered_invite_timer_a_then_timer_b() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut client = Endpoint::new(EndpointConfig::default());
    let invite = uac_request("INVITE", "sip:bob@example.test", "lost@192.0.2.10", 1);
    let tx = client
        .send_request(
            t0,
            invite,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    assert_eq!(crate::transmits(&mut client).len(), 1);
    let sent = run_timers(&mut client, &mut clock, t0 + ms(60_000));
    let times: Vec<_> = sent.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        times,
        [
            ms(500),
            ms(1_500),
            ms(3_500),
            ms(7_500),
            ms(15_500),
            ms(31_500)
        ]
    );
    assert!(sent
        .iter()
        .all(|(_, t)| start_line(&t.data).starts_with("INVITE ")));
    assert_eq!(events(&mut client), [Event::Timeout { tx }]);
    assert_eq!(client.transaction_count(), 0);
    assert!(client.poll_timeout().is_none());
}

#[test]
fn unacknowledged_final_response_timer_g_then_timer_h() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    feed(&mut server, t0, udp_from_client(), INVITE);
    let [Event::Request {
        tx: Some(tx),
        request,
        ..
    }] = &events(&mut server)[..]
    else {
        panic!("expected the INVITE");
    };
    let tx = *tx;
    server
        .respond(t0, tx, request.response(486, "Busy Here", Some("b1")))
        .unwrap();
    assert_eq!(crate::transmits(&mut server).len(), 1);

    let sent = run_timers(&mut server, &mut clock, t0 + ms(60_000));
    let times: Vec<_> = sent.iter().map(|(at, _)| *at).collect();
    let mut expected = vec![ms(500), ms(1_500), ms(3_500)];
    expected.extend((0..7).map(|k| ms(7_500 + 4_000 * k)));
    assert_eq!(times, expected, "Timer G: T1, 2·T1, 4·T1, then T2");
    assert!(sent
        .iter()
        .all(|(_, t)| start_line(&t.data) == "SIP/2.0 486 Busy Here"));
    assert_eq!(events(&mut server), [Event::Timeout { tx }]);
    assert_eq!(server.transaction_count(), 0);
    assert!(server.poll_timeout().is_none());
}

#[test]
fn timer_h_runs_over_tcp_too_without_retransmissions() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut server = Endpoint::new(EndpointConfig::default());
    let invite = String::from_utf8_lossy(INVITE).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    feed(&mut server, t0, crate::tcp_from_client(), invite.as_bytes());
    let [Event::Request {
        tx: Some(tx),
        request,
        ..
    }] = &events(&mut server)[..]
    else {
        panic!("expected the INVITE");
    };
    let tx = *tx;
    server
        .respond(t0, tx, request.response(603, "Decline", Some("d1")))
        .unwrap();
    crate::transmits(&mut server);
    assert!(run_timers(&mut server, &mut clock, t0 + ms(60_000)).is_empty());
    assert_eq!(events(&mut server), [Event::Timeout { tx }]);
    assert_eq!(clock.elapsed(), ms(60_000));
    assert_eq!(server.transaction_count(), 0);
}

#[test]
fn a_timeout_due_with_a_retransmission_wins() {
    // T1 = T2 = 100 ms: Timer E fires every 100 ms, and its 64th firing falls on the
    // instant of Timer F (64·T1 = 6.4 s).
    let timers = parley_sip::TimerConfig {
        t1: ms(100),
        t2: ms(100),
        t4: ms(1_000),
    };
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let mut client = Endpoint::new(EndpointConfig {
        timers,
        ..EndpointConfig::default()
    });
    let request = uac_request("OPTIONS", "sip:bob@example.test", "tie@192.0.2.10", 1);
    let tx = client
        .send_request(
            t0,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    crate::transmits(&mut client);
    let sent = run_timers(&mut client, &mut clock, t0 + ms(10_000));
    // Retransmissions every 100 ms up to 6.3 s; at 6.4 s Timer F alone.
    assert_eq!(sent.len(), 63);
    assert_eq!(sent.last().unwrap().0, ms(6_300));
    assert_eq!(events(&mut client), [Event::Timeout { tx }]);
}
