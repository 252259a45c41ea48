//! Per-watcher authorizations (the `confirm` policy).

use parley_store::{Store, WatcherAuthorization, WatcherDecision};

use super::{addr, user};

pub fn set_get_list_remove<S: Store>(s: &S) {
    let (alice, bob, carol) = (
        addr("alice@example.test"),
        addr("bob@example.test"),
        addr("carol@example.test"),
    );
    assert_eq!(s.authorization(&alice, &bob).unwrap(), None);
    s.set_authorization(&alice, &carol, WatcherDecision::PoliteBlock)
        .unwrap();
    s.set_authorization(&alice, &bob, WatcherDecision::Block)
        .unwrap();
    s.set_authorization(&alice, &bob, WatcherDecision::Allow)
        .unwrap();
    s.set_authorization(&bob, &alice, WatcherDecision::Block)
        .unwrap();
    assert_eq!(
        s.authorization(&alice, &bob).unwrap(),
        Some(WatcherDecision::Allow)
    );
    assert_eq!(
        s.authorization(&bob, &alice).unwrap(),
        Some(WatcherDecision::Block)
    );
    let entry = |w: &parley_store::Address, d| WatcherAuthorization {
        presentity: alice.clone(),
        watcher: w.clone(),
        decision: d,
    };
    assert_eq!(
        s.list_authorizations(&alice).unwrap(),
        vec![
            entry(&bob, WatcherDecision::Allow),
            entry(&carol, WatcherDecision::PoliteBlock)
        ]
    );
    assert!(s.remove_authorization(&alice, &bob).unwrap());
    assert!(!s.remove_authorization(&alice, &bob).unwrap());
    assert_eq!(s.authorization(&alice, &bob).unwrap(), None);
    assert_eq!(s.list_authorizations(&alice).unwrap().len(), 1);
    assert!(s.list_authorizations(&carol).unwrap().is_empty());
}

pub fn remove_user_takes_their_authorizations<S: Store>(s: &S) {
    let alice = user("alice@example.test", 1);
    s.add_user(&alice).unwrap();
    let bob = addr("bob@example.test");
    s.set_authorization(&alice.address, &bob, WatcherDecision::Allow)
        .unwrap();
    s.set_authorization(&bob, &alice.address, WatcherDecision::Allow)
        .unwrap();
    s.remove_user(&alice.address).unwrap();
    assert!(s.list_authorizations(&alice.address).unwrap().is_empty());
    // Decisions others took about the removed user stay theirs.
    assert_eq!(s.list_authorizations(&bob).unwrap().len(), 1);
}
