//! Under the `confirm` policy Bob subscribes to Alice for a minute while she is away. His
//! subscription stays pending and expires; Alice's watcher information then shows him
//! `waiting` (RFC 3857 §4.7.1), so she can still answer. Bob subscribes again: the old row
//! ends with `giveup` and a new pending one appears; it lapses to `waiting` too. When Alice
//! allows Bob, the waiting row ends with `approved`.

use crate::harness::{Sim, DOMAIN};
use parley_presence::winfo::DocState;
use parley_presence::WatcherInfo;
use parley_server::presence::{PresenceJob, SubscriptionPolicy};
use parley_sip::HeaderName;
use parley_store::presence::WatcherDecision;
use parley_store::Address;
use parley_test_support::SimNetwork;
use std::time::Duration;

fn winfo_docs(sim: &Sim, phone: usize) -> Vec<WatcherInfo> {
    sim.phones[phone]
        .notifies()
        .into_iter()
        .filter(|(_, m)| m.headers.get_str(&HeaderName::Event) == Some("presence.winfo"))
        .map(|(_, m)| WatcherInfo::parse(&m.body).unwrap())
        .collect()
}

/// `(id, status, event)` of the watchers in the last document, which must have version
/// `version` (one document per change, none in between).
fn last(
    sim: &Sim,
    phone: usize,
    version: u32,
) -> (DocState, Vec<(String, &'static str, &'static str)>) {
    let docs = winfo_docs(sim, phone);
    assert_eq!(docs.len(), version as usize + 1, "{docs:?}");
    let doc = docs.last().unwrap();
    assert_eq!(doc.version, version);
    let rows = doc.lists[0]
        .watchers
        .iter()
        .map(|w| (w.id.clone(), w.status.as_str(), w.event.as_str()))
        .collect();
    (doc.state, rows)
}

#[tokio::test(start_paused = true)]
async fn a_lapsed_pending_watcher_waits_for_an_answer() {
    let mut sim = Sim::new(SimNetwork::new(8), &[("alice", "pa"), ("bob", "pb")], |c| {
        c.presence.policy = SubscriptionPolicy::Confirm;
    });
    let alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");
    let winfo = "Event: presence.winfo\r\nExpires: 3600\r\n";
    assert_eq!(
        sim.request(alice, "SUBSCRIBE", "alice", winfo, "")
            .await
            .status(),
        Some(200)
    );

    assert_eq!(sim.subscribe(bob, "alice", 60).await.status(), Some(200));
    sim.run_for(Duration::from_secs(2)).await;
    let (_, rows) = last(&sim, alice, 1);
    let first_id = rows[0].0.clone();
    assert_eq!(rows, [(first_id.clone(), "pending", "subscribe")]);

    sim.run_for(Duration::from_secs(60)).await;
    let state = sim.phones[bob].notifies().last().unwrap().1.clone();
    assert_eq!(
        state.headers.get_str(&HeaderName::SubscriptionState),
        Some("terminated;reason=timeout")
    );
    assert_eq!(
        last(&sim, alice, 2).1,
        [(first_id.clone(), "waiting", "timeout")]
    );

    assert_eq!(sim.subscribe(bob, "alice", 60).await.status(), Some(200));
    sim.run_for(Duration::from_secs(2)).await;
    let (state, rows) = last(&sim, alice, 3);
    assert_eq!(state, DocState::Partial);
    let second_id = rows
        .iter()
        .find(|r| r.0 != first_id)
        .map(|r| r.0.clone())
        .unwrap();
    let mut rows = rows;
    rows.sort();
    let mut expected = vec![
        (first_id.clone(), "terminated", "giveup"),
        (second_id.clone(), "pending", "subscribe"),
    ];
    expected.sort();
    assert_eq!(rows, expected);

    sim.run_for(Duration::from_secs(60)).await;
    assert_eq!(
        last(&sim, alice, 4).1,
        [(second_id.clone(), "waiting", "timeout")]
    );

    // Alice allows Bob, as the HTTP API does it: store the decision, then reconsider.
    let ctx = sim.server.context().clone();
    let (a, b) = (
        Address::parse(&format!("alice@{DOMAIN}")).unwrap(),
        Address::parse(&format!("bob@{DOMAIN}")).unwrap(),
    );
    ctx.store
        .set_authorization(&a, &b, WatcherDecision::Allow)
        .unwrap();
    let (done, finished) = tokio::sync::oneshot::channel();
    let job = PresenceJob::Reconsider {
        presentity: a,
        watcher: b,
        done,
    };
    assert!(ctx.presence.submit(job).await);
    finished.await.unwrap();
    sim.run_for(Duration::from_secs(2)).await;
    assert_eq!(
        last(&sim, alice, 5).1,
        [(second_id, "terminated", "approved")]
    );
}
