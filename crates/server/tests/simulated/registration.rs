//! Registration with digest authentication, and expiry in virtual time. Alice's phone
//! registers (the server challenges with 401, the phone answers with credentials computed by
//! `parley_sip::auth::client::authorization`) for an hour; a MESSAGE from Bob reaches her
//! phone. An hour and a second later, with nobody having touched anything, the binding has
//! expired: Bob's next MESSAGE is accepted for later delivery (202) and waits in the store.

use crate::harness::{Sim, DOMAIN};
use parley_store::Address;
use parley_test_support::SimNetwork;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn binding_expires_and_messages_go_to_the_offline_store() {
    let mut sim = Sim::new(
        SimNetwork::new(1),
        &[("alice", "pa"), ("bob", "pb")],
        |_| {},
    );
    let alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");

    let ok = sim.register(alice, 3600).await;
    assert_eq!(ok.status(), Some(200), "{ok:?}");

    let delivered = sim.message(bob, "alice", "hello").await;
    assert_eq!(delivered.status(), Some(200), "{delivered:?}");
    assert_eq!(sim.phones[alice].requests.len(), 1);

    sim.run_for(Duration::from_secs(3601)).await;

    let stored = sim.message(bob, "alice", "are you there?").await;
    assert_eq!(stored.status(), Some(202), "{stored:?}");
    assert_eq!(
        sim.phones[alice].requests.len(),
        1,
        "no delivery to the expired contact"
    );
    let aor = Address::parse(&format!("alice@{DOMAIN}")).unwrap();
    let pending = sim.server.context().store.pending_messages(&aor).unwrap();
    assert_eq!(pending.len(), 1);
}
