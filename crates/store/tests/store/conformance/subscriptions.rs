//! Subscriptions (RFC 6665, notifier side): dialog state round trip, lookups, refresh, CSeq,
//! winfo version, per-watcher limit, expiry.

use parley_store::{
    DialogId, Store, StoreError, Subscription, SubscriptionState, SubscriptionUpdate,
};

use super::{addr, full_subscription, subscription, ts, wait_for};

const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const NO_LIMIT: usize = usize::MAX;

fn ids(v: &[Subscription]) -> Vec<&str> {
    v.iter().map(|s| s.id.as_str()).collect()
}

pub fn subscriptions_round_trip_every_field<S: Store>(s: &S) {
    let full = full_subscription("s1", BOB, ALICE, 60_000);
    let plain = subscription("s2", BOB, ALICE, 60_000);
    s.insert_subscription(&full, NO_LIMIT, ts(0)).unwrap();
    s.insert_subscription(&plain, NO_LIMIT, ts(0)).unwrap();
    assert_eq!(s.subscription("s1").unwrap(), Some(full.clone()));
    assert_eq!(s.subscription("s2").unwrap(), Some(plain.clone()));
    assert_eq!(
        s.subscription_by_dialog(&full.dialog.id).unwrap(),
        Some(full.clone())
    );
    assert_eq!(s.subscription("nope").unwrap(), None);
    let other_tag = DialogId {
        remote_tag: "other".into(),
        ..full.dialog.id.clone()
    };
    assert_eq!(s.subscription_by_dialog(&other_tag).unwrap(), None);
}

pub fn lookups_by_resource_and_watcher<S: Store>(s: &S) {
    let mut winfo = subscription("w1", ALICE, ALICE, 60_000);
    winfo.event = "presence.winfo".into();
    let mut later = subscription("a2", BOB, ALICE, 60_000);
    later.created_at = ts(2_000);
    let mut short = subscription("a1", "carol@example.test", ALICE, 5_000);
    short.created_at = ts(1_000);
    let mut to_bob = subscription("b1", ALICE, BOB, 60_000);
    to_bob.created_at = ts(500);
    for sub in [&winfo, &later, &short, &to_bob] {
        s.insert_subscription(sub, NO_LIMIT, ts(0)).unwrap();
    }
    let alice = addr(ALICE);
    // Fan-out: live watchers of alice's presence, by creation time.
    assert_eq!(
        ids(&s.subscriptions_to(&alice, "presence", ts(0)).unwrap()),
        ["a1", "a2"]
    );
    assert_eq!(
        ids(&s.subscriptions_to(&alice, "presence", ts(5_000)).unwrap()),
        ["a2"]
    );
    assert_eq!(
        ids(&s.subscriptions_to(&alice, "presence.winfo", ts(0)).unwrap()),
        ["w1"]
    );
    assert_eq!(
        ids(&s.subscriptions_of(&alice, ts(0)).unwrap()),
        ["w1", "b1"]
    );
    assert_eq!(s.count_subscriptions_of(&alice, ts(0)).unwrap(), 2);
    assert_eq!(s.count_subscriptions_of(&alice, ts(60_000)).unwrap(), 0);
    assert_eq!(
        ids(&s.load_live_subscriptions(ts(0)).unwrap()),
        ["w1", "b1", "a1", "a2"]
    );
    assert_eq!(
        ids(&s.load_live_subscriptions(ts(5_000)).unwrap()),
        ["w1", "b1", "a2"]
    );
}

pub fn duplicates_and_invalid_subscriptions_are_refused<S: Store>(s: &S) {
    let first = subscription("s1", BOB, ALICE, 60_000);
    s.insert_subscription(&first, NO_LIMIT, ts(0)).unwrap();
    let mut same_id = subscription("s1", BOB, ALICE, 60_000);
    same_id.dialog.id.call_id = "another-call".into();
    assert!(matches!(
        s.insert_subscription(&same_id, NO_LIMIT, ts(0)),
        Err(StoreError::SubscriptionExists(id)) if id == "s1"
    ));
    let mut same_dialog = subscription("s2", BOB, ALICE, 60_000);
    same_dialog.dialog.id = first.dialog.id.clone();
    assert!(matches!(
        s.insert_subscription(&same_dialog, NO_LIMIT, ts(0)),
        Err(StoreError::DialogExists(d)) if d == first.dialog.id
    ));
    let mut invalid = Vec::new();
    let base = || {
        let mut x = subscription("s3", BOB, ALICE, 60_000);
        x.dialog.id.call_id = "call-3".into();
        x
    };
    let mut x = base();
    x.id = "with space".into();
    invalid.push(x);
    let mut x = base();
    x.dialog.id.remote_tag.clear();
    invalid.push(x);
    let mut x = base();
    x.dialog.route_set = vec!["<sip:p.test;lr>\r\nX: y".into()];
    invalid.push(x);
    let mut x = base();
    x.event.clear();
    invalid.push(x);
    let mut x = base();
    x.watcher_display_name = Some("Bob\nEvil".into());
    invalid.push(x);
    for bad in invalid {
        assert!(
            matches!(
                s.insert_subscription(&bad, NO_LIMIT, ts(0)),
                Err(StoreError::InvalidValue { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(s.load_live_subscriptions(ts(0)).unwrap().len(), 1);
}

pub fn per_watcher_limit_counts_live_subscriptions<S: Store>(s: &S) {
    let mut n = 0;
    let mut make = |watcher: &str, expires: u64| {
        n += 1;
        let mut x = subscription(&format!("s{n}"), watcher, ALICE, expires);
        x.dialog.id.call_id = format!("call-{n}");
        x
    };
    s.insert_subscription(&make(BOB, 10_000), 2, ts(0)).unwrap();
    s.insert_subscription(&make(BOB, 60_000), 2, ts(0)).unwrap();
    let third = make(BOB, 60_000);
    assert!(matches!(
        s.insert_subscription(&third, 2, ts(0)),
        Err(StoreError::SubscriptionLimit { watcher, limit: 2 }) if watcher == addr(BOB)
    ));
    // Another watcher has its own count.
    s.insert_subscription(&make("carol@example.test", 60_000), 2, ts(0))
        .unwrap();
    // Once one has expired, there is room again (even before it is purged).
    s.insert_subscription(&third, 2, ts(10_000)).unwrap();
    assert_eq!(s.count_subscriptions_of(&addr(BOB), ts(10_000)).unwrap(), 2);
    assert_eq!(s.subscriptions_of(&addr(BOB), ts(0)).unwrap().len(), 3);
}

pub fn update_refreshes_state_expiry_and_target<S: Store>(s: &S) {
    let sub = full_subscription("s1", BOB, ALICE, 60_000);
    s.insert_subscription(&sub, NO_LIMIT, ts(0)).unwrap();
    let unchanged = s
        .update_subscription("s1", &SubscriptionUpdate::default())
        .unwrap();
    assert_eq!(unchanged, sub);
    let activated = s
        .update_subscription(
            "s1",
            &SubscriptionUpdate {
                state: Some(SubscriptionState::Active),
                expires_at: Some(ts(120_000)),
                remote_cseq: Some(7),
                remote_target: Some("sip:bob@192.0.2.9:5070;transport=tcp".into()),
                source: None,
            },
        )
        .unwrap();
    let mut expected = sub.clone();
    expected.state = SubscriptionState::Active;
    expected.expires_at = ts(120_000);
    expected.dialog.remote_cseq = 7;
    expected.dialog.remote_target = "sip:bob@192.0.2.9:5070;transport=tcp".into();
    assert_eq!(activated, expected);
    assert_eq!(s.subscription("s1").unwrap(), Some(expected.clone()));
    let new_source = parley_store::Source {
        transport: "tcp".into(),
        address: "192.0.2.9:5070".parse().unwrap(),
        connection_id: Some(42),
    };
    let terminated = s
        .update_subscription(
            "s1",
            &SubscriptionUpdate {
                state: Some(SubscriptionState::Terminated {
                    reason: Some("rejected".into()),
                }),
                source: Some(new_source.clone()),
                ..SubscriptionUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(
        terminated.state,
        SubscriptionState::Terminated {
            reason: Some("rejected".into())
        }
    );
    assert_eq!(terminated.source, Some(new_source));
    assert_eq!(s.subscription("s1").unwrap(), Some(terminated));
    assert!(matches!(
        s.update_subscription("nope", &SubscriptionUpdate::default()),
        Err(StoreError::SubscriptionNotFound(id)) if id == "nope"
    ));
    assert!(matches!(
        s.update_subscription(
            "s1",
            &SubscriptionUpdate {
                remote_target: Some(String::new()),
                ..SubscriptionUpdate::default()
            }
        ),
        Err(StoreError::InvalidValue { .. })
    ));
}

pub fn local_cseq_and_winfo_version<S: Store>(s: &S) {
    let mut sub = subscription("s1", ALICE, ALICE, 60_000);
    sub.event = "presence.winfo".into();
    sub.dialog.local_cseq = 10;
    s.insert_subscription(&sub, NO_LIMIT, ts(0)).unwrap();
    assert_eq!(s.next_local_cseq("s1").unwrap(), 11);
    assert_eq!(s.next_local_cseq("s1").unwrap(), 12);
    assert_eq!(s.subscription("s1").unwrap().unwrap().dialog.local_cseq, 12);
    // A reservation raises the stored CSeq, and never lowers it.
    assert_eq!(s.reserve_local_cseq("s1", 76).unwrap(), 76);
    assert_eq!(s.reserve_local_cseq("s1", 20).unwrap(), 76);
    assert_eq!(s.next_local_cseq("s1").unwrap(), 77);
    assert!(matches!(
        s.reserve_local_cseq("nope", 1),
        Err(StoreError::SubscriptionNotFound(_))
    ));
    s.set_winfo_version("s1", 3).unwrap();
    assert_eq!(s.subscription("s1").unwrap().unwrap().winfo_version, 3);
    assert!(matches!(
        s.next_local_cseq("nope"),
        Err(StoreError::SubscriptionNotFound(_))
    ));
    assert!(matches!(
        s.set_winfo_version("nope", 1),
        Err(StoreError::SubscriptionNotFound(_))
    ));
    // Saturates instead of wrapping.
    let mut top = subscription("s2", BOB, ALICE, 60_000);
    top.dialog.id.call_id = "call-2".into();
    top.dialog.local_cseq = u32::MAX;
    s.insert_subscription(&top, NO_LIMIT, ts(0)).unwrap();
    assert_eq!(s.next_local_cseq("s2").unwrap(), u32::MAX);
}

pub fn remove_and_purge_subscriptions<S: Store>(s: &S) {
    let a = subscription("s1", BOB, ALICE, 10_000);
    let mut b = subscription("s2", BOB, ALICE, 60_000);
    b.dialog.id.call_id = "call-2".into();
    s.insert_subscription(&a, NO_LIMIT, ts(0)).unwrap();
    s.insert_subscription(&b, NO_LIMIT, ts(0)).unwrap();
    assert_eq!(s.remove_subscription("s2").unwrap(), Some(b.clone()));
    assert_eq!(s.remove_subscription("s2").unwrap(), None);
    assert_eq!(s.subscription_by_dialog(&b.dialog.id).unwrap(), None);
    // The dialog is free again.
    s.insert_subscription(&b, NO_LIMIT, ts(0)).unwrap();
    // Expired but not purged: still found by id and dialog, not live.
    assert_eq!(s.subscription("s1").unwrap(), Some(a.clone()));
    assert_eq!(ids(&s.load_live_subscriptions(ts(10_000)).unwrap()), ["s2"]);
    assert_eq!(
        s.purge_expired_subscriptions(ts(10_000)).unwrap(),
        vec![a.clone()]
    );
    assert!(s
        .purge_expired_subscriptions(ts(10_000))
        .unwrap()
        .is_empty());
    assert_eq!(s.subscription("s1").unwrap(), None);
    assert_eq!(s.subscription_by_dialog(&a.dialog.id).unwrap(), None);
    s.insert_subscription(&a, NO_LIMIT, ts(0)).unwrap();
}

pub fn submitted_subscription_writes_answer_as_the_calls<S: Store>(s: &S) {
    let full = full_subscription("s1", BOB, ALICE, 60_000);
    wait_for(|done| s.submit_insert_subscription(full.clone(), 2, ts(0), done)).unwrap();
    // Durable when told: a read that follows sees it.
    assert_eq!(s.subscription("s1").unwrap(), Some(full.clone()));
    assert!(matches!(
        wait_for(|done| s.submit_insert_subscription(full.clone(), 2, ts(0), done)),
        Err(StoreError::SubscriptionExists(id)) if id == "s1"
    ));
    let mut same_dialog = subscription("s2", BOB, ALICE, 60_000);
    same_dialog.dialog.id = full.dialog.id.clone();
    assert!(matches!(
        wait_for(|done| s.submit_insert_subscription(same_dialog, 2, ts(0), done)),
        Err(StoreError::DialogExists(d)) if d == full.dialog.id
    ));
    wait_for(|done| {
        s.submit_insert_subscription(subscription("s3", BOB, ALICE, 60_000), 2, ts(0), done)
    })
    .unwrap();
    assert!(matches!(
        wait_for(|done| s.submit_insert_subscription(subscription("s4", BOB, ALICE, 60_000), 2, ts(0), done)),
        Err(StoreError::SubscriptionLimit { watcher, limit: 2 }) if watcher == addr(BOB)
    ));
    let update = SubscriptionUpdate {
        state: Some(SubscriptionState::Active),
        expires_at: Some(ts(120_000)),
        ..SubscriptionUpdate::default()
    };
    let updated =
        wait_for(|done| s.submit_update_subscription("s1".into(), update.clone(), done)).unwrap();
    assert_eq!(updated.state, SubscriptionState::Active);
    assert_eq!(updated.expires_at, ts(120_000));
    assert_eq!(updated.dialog, full.dialog);
    assert_eq!(s.subscription("s1").unwrap(), Some(updated));
    assert!(matches!(
        wait_for(|done| s.submit_update_subscription("nope".into(), update.clone(), done)),
        Err(StoreError::SubscriptionNotFound(id)) if id == "nope"
    ));
    assert!(wait_for(|done| s.submit_remove_subscription("s1".into(), done)).unwrap());
    assert_eq!(s.subscription("s1").unwrap(), None);
    assert!(!wait_for(|done| s.submit_remove_subscription("s1".into(), done)).unwrap());
}
