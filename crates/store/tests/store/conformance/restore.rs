//! The bulk reads of a restart (`RestoreStore`): the same answers as the per-presentity
//! queries they replace.

use parley_store::{Address, Store, WatcherDecision};

use super::{addr, binding, subscription, ts};

fn by_length(a: &Address) -> usize {
    a.as_str().len() % 3
}

pub fn sharded_subscriptions_are_the_live_ones_split_in_order<S: Store>(s: &S) {
    let resources = ["a@example.test", "bb@example.test", "ccc@example.test"];
    for i in 0..30u64 {
        let resource = resources[usize::try_from(i % 3).unwrap()];
        let watcher = format!("w{i}@example.test");
        // Every fifth one has expired by the time of the load.
        let lifetime = if i % 5 == 0 { 500 } else { 60_000 };
        let mut sub = subscription(&format!("s{i:02}"), &watcher, resource, lifetime);
        sub.created_at = ts(30 - i);
        s.insert_subscription(&sub, usize::MAX, ts(0)).unwrap();
    }
    let now = ts(1_000);
    let live = s.load_live_subscriptions(now).unwrap();
    assert_eq!(live.len(), 24);
    let by_id = |v: &mut Vec<parley_store::Subscription>| v.sort_by(|a, b| a.id.cmp(&b.id));
    let mut sharded = s
        .load_live_subscriptions_sharded(now, 3, &by_length)
        .unwrap();
    sharded.iter_mut().for_each(by_id);
    let expected: Vec<Vec<_>> = (0..3)
        .map(|i| {
            let mut v = live
                .iter()
                .filter(|x| by_length(&x.resource) == i)
                .cloned()
                .collect();
            by_id(&mut v);
            v
        })
        .collect();
    assert_eq!(sharded, expected);
    // `bb@` (shard 0): s01, s04, .., s28 but s10 and s25, expired.
    assert_eq!(sharded[0].len(), 8);
    // A shard index past the end goes to the last shard; no shard is lost.
    let two = s
        .load_live_subscriptions_sharded(now, 2, &by_length)
        .unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].len() + two[1].len(), 24);
    assert!(s
        .load_live_subscriptions_sharded(ts(60_000), 4, &by_length)
        .unwrap()
        .iter()
        .all(Vec::is_empty));
}

pub fn all_authorizations_and_binding_expiries_at_once<S: Store>(s: &S) {
    let (alice, bob, carol) = (
        addr("alice@example.test"),
        addr("bob@example.test"),
        addr("carol@example.test"),
    );
    s.set_authorization(&bob, &carol, WatcherDecision::Block)
        .unwrap();
    s.set_authorization(&alice, &carol, WatcherDecision::PoliteBlock)
        .unwrap();
    s.set_authorization(&alice, &bob, WatcherDecision::Allow)
        .unwrap();
    let all = s.load_authorizations().unwrap();
    let mut expected = s.list_authorizations(&alice).unwrap();
    expected.extend(s.list_authorizations(&bob).unwrap());
    assert_eq!(all, expected);
    assert_eq!(all.len(), 3);

    for b in [
        binding("alice@example.test", "sip:alice@192.0.2.1", 9_000),
        binding("alice@example.test", "sip:alice@192.0.2.2", 4_000),
        binding("alice@example.test", "sip:alice@192.0.2.3", 500),
        binding("bob@example.test", "sip:bob@192.0.2.9", 7_000),
        binding("carol@example.test", "sip:carol@192.0.2.7", 800),
    ] {
        s.upsert_binding(&b).unwrap();
    }
    assert_eq!(
        s.load_binding_expiries(ts(1_000)).unwrap(),
        vec![(alice, ts(4_000)), (bob, ts(7_000))]
    );
}
