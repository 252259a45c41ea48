//! Alice watches her watchers. Bob, Carol and Dave subscribe to her presence within the same
//! second: her winfo NOTIFYs are rate-controlled like presence ones, so after the full list
//! (version 0) she gets one partial document (version 1) naming all three. Erin subscribes:
//! a partial document (version 2) names her, but Alice's phone answers it with 500, so she
//! may have missed it; when Frank subscribes, the next document (version 3) is full, listing
//! all five.

use crate::harness::Sim;
use parley_presence::winfo::DocState;
use parley_presence::WatcherInfo;
use parley_sip::HeaderName;
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

fn who(doc: &WatcherInfo) -> Vec<String> {
    let mut w: Vec<String> = doc.lists[0]
        .watchers
        .iter()
        .map(|w| {
            w.uri
                .trim_start_matches("sip:")
                .split('@')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    w.sort();
    w
}

#[tokio::test(start_paused = true)]
async fn bursts_are_coalesced_and_a_lost_document_is_made_good() {
    let users = [
        ("alice", "pa"),
        ("bob", "pb"),
        ("carol", "pc"),
        ("dave", "pd"),
        ("erin", "pe"),
        ("frank", "pf"),
    ];
    let mut sim = Sim::new(SimNetwork::new(6), &users, |_| {});
    let phones: Vec<usize> = users.iter().map(|(u, p)| sim.phone(u, p)).collect();
    let (alice, watchers) = (phones[0], &phones[1..]);

    let winfo = "Event: presence.winfo\r\nExpires: 600\r\n";
    let ok = sim.request(alice, "SUBSCRIBE", "alice", winfo, "").await;
    assert_eq!(ok.status(), Some(200), "{ok:?}");
    for &w in &watchers[..3] {
        assert_eq!(sim.subscribe(w, "alice", 600).await.status(), Some(200));
    }
    sim.run_for(Duration::from_secs(3)).await;
    let docs = winfo_docs(&sim, alice);
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert_eq!((docs[0].version, docs[0].state), (0, DocState::Full));
    assert!(who(&docs[0]).is_empty());
    assert_eq!((docs[1].version, docs[1].state), (1, DocState::Partial));
    assert_eq!(who(&docs[1]), ["bob", "carol", "dave"]);

    sim.phones[alice].answers.push_back(500);
    assert_eq!(
        sim.subscribe(watchers[3], "alice", 600).await.status(),
        Some(200)
    );
    sim.run_for(Duration::from_secs(3)).await;
    let docs = winfo_docs(&sim, alice);
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!((docs[2].version, docs[2].state), (2, DocState::Partial));
    assert_eq!(who(&docs[2]), ["erin"]);

    assert_eq!(
        sim.subscribe(watchers[4], "alice", 600).await.status(),
        Some(200)
    );
    sim.run_for(Duration::from_secs(3)).await;
    let docs = winfo_docs(&sim, alice);
    assert_eq!(docs.len(), 4, "{docs:?}");
    assert_eq!((docs[3].version, docs[3].state), (3, DocState::Full));
    assert_eq!(who(&docs[3]), ["bob", "carol", "dave", "erin", "frank"]);
}
