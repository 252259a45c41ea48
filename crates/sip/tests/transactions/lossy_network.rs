//! Over a UDP network that drops 30 % of datagrams (and delays the rest by 20–30 ms, possibly
//! out of order), a MESSAGE still gets its `200 OK` and a rejected INVITE still gets its `486`
//! acknowledged: retransmissions (Timers E, A, G) and the re-sending of the last response on
//! each retransmitted request (§17.2) recover the losses. Run over many seeds. Asserted for
//! every seed: the sender's TU sees exactly one outcome (the final response once, or one
//! timeout); the receiver's TU sees the request at most once; no transaction is left at the
//! end. Across the seeds, at least 99 % complete (the chance that all eleven attempts of one
//! MESSAGE fail both ways is about 0.51¹¹ ≈ 0.06 %).

use crate::{to_server, CLIENT};
use parley_sip::{Endpoint, EndpointConfig, Event, Method, Transport};
use parley_test_support::messages::uac_request;
use parley_test_support::{Pair, Side, SimNetwork};
use std::time::{Duration, Instant};

const SEEDS: u64 = 300;

fn lossy(seed: u64) -> Pair {
    let net = SimNetwork::new(seed)
        .with_loss(0.3)
        .with_delay(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(10));
    let config = EndpointConfig {
        seed: seed.wrapping_mul(31).wrapping_add(7),
        ..EndpointConfig::default()
    };
    Pair::new(config, net)
}

/// A server TU that answers every request at once with `code` (never an ACK).
fn answer(code: u16) -> impl FnMut(Side, Instant, &mut Endpoint, &Event) {
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
            let reason = if code == 200 { "OK" } else { "Busy Here" };
            ep.respond(now, *tx, request.response(code, reason, Some("srv")))
                .unwrap();
        }
    }
}

/// Runs one transaction from the client; returns whether its final response arrived.
fn run(seed: u64, method: &str, code: u16) -> bool {
    let mut pair = lossy(seed);
    let now = pair.now();
    let request = uac_request(method, "sip:bob@example.test", &format!("{seed}@lossy"), 1);
    let tx = pair
        .client
        .endpoint
        .send_request(
            now,
            request,
            to_server(Transport::Udp),
            (Transport::Udp, CLIENT),
        )
        .unwrap();
    pair.drive(&mut answer(code));

    let outcomes: Vec<_> = pair
        .client
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| match e {
            Event::Response { response, .. } => response.status() == Some(code),
            Event::Timeout { .. } => true,
            _ => false,
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "seed {seed}: {outcomes:?}");
    let requests = pair
        .server
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Request { request, .. } if request.method() != Some(&Method::Ack)))
        .count();
    assert!(
        requests <= 1,
        "seed {seed}: request delivered {requests} times"
    );
    assert!(
        !pair
            .server
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::Request { tx: None, .. })),
        "seed {seed}: the ACK for the 486 leaked to the TU"
    );
    assert_eq!(pair.client.endpoint.transaction_count(), 0, "seed {seed}");
    assert_eq!(pair.server.endpoint.transaction_count(), 0, "seed {seed}");
    match outcomes[0] {
        Event::Response { tx: t, .. } => {
            assert_eq!(*t, tx);
            true
        }
        _ => false,
    }
}

#[test]
fn message_completes_over_30_percent_loss() {
    let completed = (0..SEEDS).filter(|&s| run(s, "MESSAGE", 200)).count() as u64;
    assert!(completed * 100 >= SEEDS * 99, "{completed} of {SEEDS}");
}

#[test]
fn rejected_invite_is_acknowledged_over_30_percent_loss() {
    let completed = (0..SEEDS).filter(|&s| run(s, "INVITE", 486)).count() as u64;
    assert!(completed * 100 >= SEEDS * 99, "{completed} of {SEEDS}");
}
