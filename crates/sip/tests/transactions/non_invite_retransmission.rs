//! A MESSAGE sent over UDP to a server that never answers is retransmitted on the schedule
//! of RFC 3261 §17.1.2.2 — after T1, 2·T1, 4·T1, then every T2 (500 ms, 1 s, 2 s, 4 s, 4 s …
//! with the defaults) — and after 64·T1 the TU gets one `Event::Timeout` and the transaction
//! is gone. Asserted: the exact send times for the default and for a non-default T1/T2, the
//! timeout instant, that over TCP the request is sent once and never retransmitted, and that
//! after a provisional response retransmissions continue every T2 while the 1xx is delivered
//! once.

use crate::{ms, to_server, CLIENT};
use parley_sip::{EndpointConfig, Event, TimerConfig, Transport};
use parley_test_support::messages::uac_request;
use parley_test_support::{no_tu, Pair, SimNetwork};
use std::time::Duration;

/// The send offsets the rule gives: intervals T1, 2·T1, 4·T1 … capped at T2, while < 64·T1.
fn expected_schedule(t: &TimerConfig) -> Vec<Duration> {
    let mut out = vec![Duration::ZERO];
    let mut interval = t.t1;
    let mut at = t.t1;
    while at < t.t1 * 64 {
        out.push(at);
        interval = (interval * 2).min(t.t2);
        at += interval;
    }
    out
}

/// Sends a MESSAGE into a network that loses everything; returns the send offsets and the
/// client's events with their offsets.
fn unanswered(config: EndpointConfig) -> (Vec<Duration>, Vec<(Duration, Event)>) {
    let mut pair = Pair::new(config, SimNetwork::new(1).with_loss(1.0));
    let start = pair.now();
    let request = uac_request("MESSAGE", "sip:bob@example.test", "nim1@192.0.2.10", 1);
    pair.client
        .endpoint
        .send_request(
            start,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    pair.drive(&mut no_tu);
    let sends = pair
        .net
        .sent_by(CLIENT, "MESSAGE ")
        .map(|s| s.at - start)
        .collect();
    let events = pair
        .client
        .events
        .iter()
        .map(|(at, e)| (*at - start, e.clone()))
        .collect();
    assert_eq!(pair.client.endpoint.transaction_count(), 0);
    assert_eq!(pair.client.endpoint.poll_timeout(), None);
    (sends, events)
}

#[test]
fn udp_schedule_is_t1_doubling_to_t2_then_timer_f() {
    let (sends, events) = unanswered(EndpointConfig::default());
    let written: Vec<Duration> = [
        0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(sends, written);
    assert_eq!(sends, expected_schedule(&TimerConfig::default()));
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], (at, Event::Timeout { .. }) if at == ms(32_000)));
}

#[test]
fn schedule_follows_configured_t1_and_t2() {
    let timers = TimerConfig {
        t1: ms(100),
        t2: ms(1_000),
        t4: ms(2_000),
    };
    let config = EndpointConfig {
        timers,
        ..EndpointConfig::default()
    };
    let (sends, events) = unanswered(config);
    assert_eq!(sends, expected_schedule(&timers));
    assert_eq!(sends[..5], [ms(0), ms(100), ms(300), ms(700), ms(1_500)]);
    assert!(matches!(events[..], [(at, Event::Timeout { .. })] if at == ms(6_400)));
}

#[test]
fn tcp_sends_once_and_still_times_out() {
    let mut pair = Pair::new(EndpointConfig::default(), SimNetwork::new(1));
    let start = pair.now();
    let request = uac_request("MESSAGE", "sip:bob@example.test", "nim2@192.0.2.10", 1);
    let tx = pair
        .client
        .endpoint
        .send_request(
            start,
            request,
            to_server(Transport::Tcp),
            (Transport::Tcp, CLIENT),
        )
        .unwrap();
    // The server's TU never answers.
    pair.drive_for(Duration::from_secs(40), &mut no_tu);
    let sends: Vec<_> = pair.net.sent_by(CLIENT, "MESSAGE ").collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].transport, Transport::Tcp);
    assert!(String::from_utf8_lossy(&sends[0].data).contains("Via: SIP/2.0/TCP 192.0.2.10:5060;"));
    let timeouts: Vec<_> = pair
        .client
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { tx: t } if *t == tx))
        .map(|(at, _)| *at - start)
        .collect();
    assert_eq!(timeouts, [ms(32_000)]);
    assert_eq!(
        pair.server.events.len(),
        1,
        "the request reached the server once"
    );
}

#[test]
fn after_a_provisional_response_retransmissions_continue_every_t2() {
    let mut pair = Pair::new(EndpointConfig::default(), SimNetwork::new(1));
    let start = pair.now();
    let request = uac_request("MESSAGE", "sip:bob@example.test", "nim3@192.0.2.10", 1);
    pair.client
        .endpoint
        .send_request(
            start,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    // The server's TU answers 100 at once and never sends a final response.
    pair.drive(&mut |_, now, ep, e| {
        if let Event::Request {
            tx: Some(tx),
            request,
            ..
        } = e
        {
            ep.respond(now, *tx, request.response(100, "Trying", None))
                .unwrap();
        }
    });
    let sends: Vec<_> = pair
        .net
        .sent_by(CLIENT, "MESSAGE ")
        .map(|s| s.at - start)
        .collect();
    // T1 was armed in Trying; once in Proceeding every retransmission waits T2.
    let mut expected = vec![ms(0), ms(500)];
    expected.extend((1..=7).map(|k| ms(500 + 4_000 * k)));
    assert_eq!(sends, expected);
    // Each retransmission drew the 100 again; the TU saw it once, then the timeout.
    assert_eq!(pair.net.sent_by(crate::SERVER, "SIP/2.0 100").count(), 9);
    let client: Vec<_> = pair.client.events.iter().map(|(_, e)| e).collect();
    assert!(matches!(
        client[..],
        [Event::Response { .. }, Event::Timeout { .. }]
    ));
    assert_eq!(
        pair.server.events.len(),
        1,
        "the request was delivered once"
    );
}
