//! Users: adding, finding, listing, password changes, removal (issue 3 "Users and the store").

use parley_store::{Ha1Set, Store, StoreError};

use super::{addr, binding, ha1, message, ts, user};

pub fn add_get_list<S: Store>(s: &S) {
    assert!(s.list_users().unwrap().is_empty());
    let bob = user("bob@example.test", 2);
    let alice = user("alice@example.test", 1);
    s.add_user(&bob).unwrap();
    s.add_user(&alice).unwrap();
    assert_eq!(s.user(&alice.address).unwrap(), Some(alice.clone()));
    assert_eq!(s.user(&addr("carol@example.test")).unwrap(), None);
    // The domain is case-insensitive, the user part is not.
    assert_eq!(
        s.user(&addr("alice@EXAMPLE.test")).unwrap(),
        Some(alice.clone())
    );
    assert_eq!(s.user(&addr("Alice@example.test")).unwrap(), None);
    assert_eq!(s.list_users().unwrap(), vec![alice, bob]);
}

pub fn adding_an_existing_user_changes_nothing<S: Store>(s: &S) {
    let alice = user("alice@example.test", 1);
    s.add_user(&alice).unwrap();
    let again = user("alice@example.test", 9);
    match s.add_user(&again) {
        Err(StoreError::UserExists(a)) => assert_eq!(a, alice.address),
        other => panic!("expected UserExists, got {other:?}"),
    }
    assert_eq!(s.user(&alice.address).unwrap(), Some(alice));
    assert_eq!(s.list_users().unwrap().len(), 1);
}

pub fn invalid_values_are_refused<S: Store>(s: &S) {
    let good = ha1("example.test", 1);
    let cases = [
        Ha1Set {
            md5: "ABCDEF".repeat(5) + "ab",
            ..good.clone()
        },
        Ha1Set {
            md5: "a".repeat(31),
            ..good.clone()
        },
        Ha1Set {
            sha256: "a".repeat(32),
            ..good.clone()
        },
        Ha1Set {
            realm: String::new(),
            ..good.clone()
        },
    ];
    for bad in cases {
        let mut u = user("alice@example.test", 1);
        u.ha1 = bad.clone();
        assert!(
            matches!(s.add_user(&u), Err(StoreError::InvalidValue { .. })),
            "{bad:?}"
        );
        assert!(s.list_users().unwrap().is_empty());
    }
    let alice = user("alice@example.test", 1);
    s.add_user(&alice).unwrap();
    let bad = Ha1Set {
        sha256: "g".repeat(64),
        ..good
    };
    assert!(matches!(
        s.set_ha1(&alice.address, &bad),
        Err(StoreError::InvalidValue { .. })
    ));
    assert_eq!(s.user(&alice.address).unwrap(), Some(alice));
}

pub fn set_ha1_replaces_the_hashes<S: Store>(s: &S) {
    let alice = user("alice@example.test", 1);
    s.add_user(&alice).unwrap();
    let new = ha1("other realm", 7);
    s.set_ha1(&alice.address, &new).unwrap();
    assert_eq!(s.user(&alice.address).unwrap().unwrap().ha1, new);
    let nobody = addr("nobody@example.test");
    match s.set_ha1(&nobody, &new) {
        Err(StoreError::UserNotFound(a)) => assert_eq!(a, nobody),
        other => panic!("expected UserNotFound, got {other:?}"),
    }
    assert_eq!(s.list_users().unwrap().len(), 1);
}

pub fn remove_user_takes_bindings_and_messages<S: Store>(s: &S) {
    let alice = user("alice@example.test", 1);
    let bob = user("bob@example.test", 2);
    s.add_user(&alice).unwrap();
    s.add_user(&bob).unwrap();
    for who in ["alice@example.test", "bob@example.test"] {
        s.upsert_binding(&binding(who, "sip:a@192.0.2.1", 10_000))
            .unwrap();
        s.enqueue_message(&message(who, b"hi", 1), 10).unwrap();
    }
    s.remove_user(&alice.address).unwrap();
    assert_eq!(s.user(&alice.address).unwrap(), None);
    assert!(s.live_bindings(&alice.address, ts(0)).unwrap().is_empty());
    assert_eq!(s.count_pending(&alice.address).unwrap(), 0);
    // Bob keeps everything.
    assert_eq!(s.list_users().unwrap(), vec![bob.clone()]);
    assert_eq!(s.live_bindings(&bob.address, ts(0)).unwrap().len(), 1);
    assert_eq!(s.count_pending(&bob.address).unwrap(), 1);
    assert!(matches!(
        s.remove_user(&alice.address),
        Err(StoreError::UserNotFound(_))
    ));
}
