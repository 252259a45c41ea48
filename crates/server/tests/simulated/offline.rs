//! Offline store-and-forward with a retry. Bob writes to Alice while she is offline: the
//! server accepts the MESSAGE (202) and stores it. When Alice registers, the server delivers
//! it; her phone answers the first delivery with 500, so the server waits the configured
//! backoff (30 s of virtual time, then the next round of its retry timer) and tries again;
//! the retry gets a 200. Alice's user sees the message twice at the phone level (once
//! refused, once accepted) and it is gone from the store afterwards, never delivered again.

use crate::harness::{Sim, DOMAIN};
use parley_sip::Method;
use parley_store::Address;
use parley_test_support::SimNetwork;
use std::time::Duration;

const RETRY: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn a_failed_delivery_is_retried_after_the_backoff_and_then_deleted() {
    let mut sim = Sim::new(SimNetwork::new(3), &[("alice", "pa"), ("bob", "pb")], |c| {
        c.messaging.retry_interval = RETRY;
    });
    let alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");
    let aor = Address::parse(&format!("alice@{DOMAIN}")).unwrap();

    let stored = sim.message(bob, "alice", "call me").await;
    assert_eq!(stored.status(), Some(202), "{stored:?}");
    assert_eq!(
        sim.server
            .context()
            .store
            .pending_messages(&aor)
            .unwrap()
            .len(),
        1
    );

    // Alice's phone refuses the first request it receives, and accepts the next.
    sim.phones[alice].answers.extend([500, 200]);
    let ok = sim.register(alice, 3600).await;
    assert_eq!(ok.status(), Some(200), "{ok:?}");
    sim.run_for(Duration::from_secs(120)).await;

    let deliveries: Vec<_> = sim.phones[alice]
        .requests
        .iter()
        .filter(|(_, r)| r.method() == Some(&Method::Message))
        .collect();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    for (_, d) in &deliveries {
        assert!(d.body.ends_with(b"call me"));
    }
    let gap = deliveries[1].0 - deliveries[0].0;
    assert!(
        gap >= RETRY && gap <= 2 * RETRY,
        "retry after {gap:?}, wanted the {RETRY:?} backoff (plus at most one timer period)"
    );
    assert!(sim
        .server
        .context()
        .store
        .pending_messages(&aor)
        .unwrap()
        .is_empty());

    // Nothing more comes, however long we wait.
    sim.run_for(Duration::from_secs(3600)).await;
    let later = sim.phones[alice]
        .requests
        .iter()
        .filter(|(_, r)| r.method() == Some(&Method::Message))
        .count();
    assert_eq!(later, 2);
}
