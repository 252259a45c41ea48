//! Three people watch Alice. Bob's phone has forgotten the subscription and answers her next
//! NOTIFY with 481: he is removed at once and gets no more NOTIFYs. Dave's phone has gone
//! away and answers nothing: his NOTIFY is retransmitted until its transaction times out
//! (Timer F, 32 s), and then he is removed too. Meanwhile Carol gets every change within a
//! second, never waiting for Dave.

use crate::harness::{now, Sim, DOMAIN};
use parley_store::{Address, Timestamp};
use parley_test_support::SimNetwork;
use std::time::Duration;

fn watchers(sim: &Sim) -> Vec<String> {
    let alice = Address::parse(&format!("alice@{DOMAIN}")).unwrap();
    let mut who: Vec<String> = sim
        .server
        .context()
        .store
        .subscriptions_to(&alice, "presence", Timestamp::from_unix_millis(0))
        .unwrap()
        .into_iter()
        .map(|s| s.watcher.user().to_owned())
        .collect();
    who.sort();
    who
}

#[tokio::test(start_paused = true)]
async fn failing_watchers_are_removed_without_delaying_the_others() {
    let users = [
        ("alice", "pa"),
        ("bob", "pb"),
        ("carol", "pc"),
        ("dave", "pd"),
    ];
    let mut sim = Sim::new(SimNetwork::new(5), &users, |_| {});
    let alice = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");
    let carol = sim.phone("carol", "pc");
    let dave = sim.phone("dave", "pd");
    for w in [bob, carol, dave] {
        assert_eq!(sim.subscribe(w, "alice", 3600).await.status(), Some(200));
    }
    sim.run_for(Duration::from_secs(2)).await;
    assert_eq!(watchers(&sim), ["bob", "carol", "dave"]);

    sim.phones[bob].answers.push_back(481);
    sim.phones[dave].deaf = true;
    let published = now();
    assert_eq!(sim.publish(alice, "first").await.status(), Some(200));
    sim.run_for(Duration::from_secs(2)).await;
    let (at, n) = *sim.phones[carol].notifies().last().unwrap();
    assert!(String::from_utf8_lossy(&n.body).contains("first"));
    assert!(
        at - published < Duration::from_secs(1),
        "{:?}",
        at - published
    );
    assert_eq!(
        watchers(&sim),
        ["carol", "dave"],
        "Bob is gone after his 481"
    );

    sim.run_for(Duration::from_secs(40)).await;
    assert_eq!(watchers(&sim), ["carol"], "Dave is gone after Timer F");

    let bob_before = sim.phones[bob].notifies().len();
    let published = now();
    assert_eq!(sim.publish(alice, "second").await.status(), Some(200));
    sim.run_for(Duration::from_secs(2)).await;
    let (at, n) = *sim.phones[carol].notifies().last().unwrap();
    assert!(String::from_utf8_lossy(&n.body).contains("second"));
    assert!(at - published < Duration::from_secs(1));
    assert_eq!(
        sim.phones[bob].notifies().len(),
        bob_before,
        "nothing more for Bob"
    );
}
