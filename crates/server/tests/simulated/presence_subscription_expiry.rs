//! Bob subscribes to Alice's presence for one minute and never refreshes. When the minute is
//! over he gets a final NOTIFY with `Subscription-State: terminated;reason=timeout`, and the
//! subscription is gone from the store.

use crate::harness::{Sim, DOMAIN};
use parley_sip::HeaderName;
use parley_store::{Address, Timestamp};
use parley_test_support::SimNetwork;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn an_unrefreshed_subscription_times_out() {
    let mut sim = Sim::new(
        SimNetwork::new(4),
        &[("alice", "pa"), ("bob", "pb")],
        |_| {},
    );
    let _alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");

    assert_eq!(sim.subscribe(bob, "alice", 60).await.status(), Some(200));
    sim.run_for(Duration::from_secs(30)).await;
    assert_eq!(sim.phones[bob].notifies().len(), 1);

    sim.run_for(Duration::from_secs(31)).await;
    let notifies = sim.phones[bob].notifies();
    assert_eq!(notifies.len(), 2);
    let state = notifies[1]
        .1
        .headers
        .get_str(&HeaderName::SubscriptionState)
        .unwrap();
    assert_eq!(state, "terminated;reason=timeout");

    let alice = Address::parse(&format!("alice@{DOMAIN}")).unwrap();
    let far_past = Timestamp::from_unix_millis(0);
    let left = sim
        .server
        .context()
        .store
        .subscriptions_to(&alice, "presence", far_past)
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
