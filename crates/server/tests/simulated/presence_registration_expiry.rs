//! Alice registers her phone for two minutes and never publishes: Bob, watching her, sees her
//! `open`. Nobody sends anything after that; when her binding runs out, Bob gets a NOTIFY
//! showing her `closed` within a second of the expiry (the server keeps a timer at the
//! earliest binding expiry), and nothing in between.

use crate::harness::Sim;
use parley_test_support::SimNetwork;
use std::time::Duration;

fn basic(m: &parley_sip::Message) -> &'static str {
    let body = String::from_utf8_lossy(&m.body);
    match (
        body.contains("<basic>open</basic>"),
        body.contains("<basic>closed</basic>"),
    ) {
        (true, false) => "open",
        (false, true) => "closed",
        _ => "?",
    }
}

#[tokio::test(start_paused = true)]
async fn watchers_see_a_lapsed_registration_as_closed() {
    let mut sim = Sim::new(
        SimNetwork::new(3),
        &[("alice", "pa"), ("bob", "pb")],
        |_| {},
    );
    let alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");

    let registered_at = crate::harness::now();
    assert_eq!(sim.register(alice, 120).await.status(), Some(200));
    assert_eq!(sim.subscribe(bob, "alice", 3600).await.status(), Some(200));
    sim.run_for(Duration::from_secs(1)).await;
    let first = sim.phones[bob].notifies();
    assert_eq!(first.len(), 1);
    assert_eq!(basic(first[0].1), "open", "registered: open");

    let expiry = registered_at + Duration::from_secs(120);
    sim.run_for(Duration::from_secs(125)).await;
    let notifies = sim.phones[bob].notifies();
    assert_eq!(notifies.len(), 2, "one NOTIFY for the expiry, none before");
    let (at, closed) = notifies[1];
    assert_eq!(basic(closed), "closed", "{closed:?}");
    assert!(
        at >= expiry && at < expiry + Duration::from_secs(1),
        "{:?}",
        at - expiry
    );
}
