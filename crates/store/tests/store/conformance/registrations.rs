//! Registration bindings (RFC 3261 §10): add, refresh, remove, `Contact: *`, expiry.

use parley_store::{Binding, BindingChange, Registered, Store, StoreError};
use std::sync::mpsc;

use super::{addr, binding, full_binding, ts};

const ALICE: &str = "alice@example.test";

pub fn bindings_round_trip_every_field<S: Store>(s: &S) {
    let full = full_binding(
        ALICE,
        "sip:alice@[2001:db8::1]:5061;transport=ws;ob",
        60_000,
    );
    let plain = binding(ALICE, "sip:alice@192.0.2.1", 60_000);
    let live = s
        .update_bindings(
            &addr(ALICE),
            &[
                BindingChange::Upsert(full.clone()),
                BindingChange::Upsert(plain.clone()),
            ],
            ts(1_000),
        )
        .unwrap();
    // Ordered by contact ("sip:alice@1…" sorts before "sip:alice@[…").
    assert_eq!(live, vec![plain.clone(), full.clone()]);
    assert_eq!(
        s.live_bindings(&addr(ALICE), ts(1_000)).unwrap(),
        vec![plain, full]
    );
}

pub fn upsert_replaces_by_contact<S: Store>(s: &S) {
    let first = binding(ALICE, "sip:alice@192.0.2.1", 60_000);
    s.upsert_binding(&first).unwrap();
    let refreshed = Binding {
        expires_at: ts(120_000),
        cseq: 2,
        q: Some(500),
        ..first.clone()
    };
    s.upsert_binding(&refreshed).unwrap();
    assert_eq!(
        s.live_bindings(&addr(ALICE), ts(0)).unwrap(),
        vec![refreshed]
    );
}

pub fn liveness_boundary<S: Store>(s: &S) {
    s.upsert_binding(&binding(ALICE, "sip:alice@192.0.2.1", 5_000))
        .unwrap();
    assert_eq!(s.live_bindings(&addr(ALICE), ts(4_999)).unwrap().len(), 1);
    assert!(s.live_bindings(&addr(ALICE), ts(5_000)).unwrap().is_empty());
    // Expired but not yet purged: still stored, not live.
    assert_eq!(s.purge_expired_bindings(ts(5_000)).unwrap().len(), 1);
}

pub fn update_bindings_applies_in_order<S: Store>(s: &S) {
    let aor = addr(ALICE);
    let a = binding(ALICE, "sip:a@192.0.2.1", 60_000);
    let b = binding(ALICE, "sip:b@192.0.2.2", 60_000);
    let c = binding(ALICE, "sip:c@192.0.2.3", 60_000);
    s.update_bindings(
        &aor,
        &[BindingChange::Upsert(a.clone()), BindingChange::Upsert(b)],
        ts(0),
    )
    .unwrap();
    // `Contact: *` then a new contact in the same request leaves only the new one.
    let live = s
        .update_bindings(
            &aor,
            &[BindingChange::RemoveAll, BindingChange::Upsert(c.clone())],
            ts(0),
        )
        .unwrap();
    assert_eq!(live, vec![c.clone()]);
    let live = s
        .update_bindings(
            &aor,
            &[
                BindingChange::Upsert(a.clone()),
                BindingChange::Remove {
                    contact: c.contact.clone(),
                },
                BindingChange::Remove {
                    contact: "sip:never@192.0.2.9".into(),
                },
            ],
            ts(0),
        )
        .unwrap();
    assert_eq!(live, vec![a]);
    // The returned list only holds bindings live at `now`.
    let short = binding(ALICE, "sip:short@192.0.2.4", 10);
    let live = s
        .update_bindings(&aor, &[BindingChange::Upsert(short)], ts(10))
        .unwrap();
    assert_eq!(live.len(), 1);
}

pub fn update_bindings_is_all_or_nothing<S: Store>(s: &S) {
    let aor = addr(ALICE);
    let kept = binding(ALICE, "sip:kept@192.0.2.1", 60_000);
    s.upsert_binding(&kept).unwrap();
    let bad_q = Binding {
        q: Some(1001),
        ..binding(ALICE, "sip:bad@192.0.2.2", 60_000)
    };
    let other_aor = binding("bob@example.test", "sip:bob@192.0.2.3", 60_000);
    let bad_path = Binding {
        path: vec!["<sip:p;lr>\r\nX: y".into()],
        ..binding(ALICE, "sip:bad@192.0.2.2", 60_000)
    };
    for bad in [bad_q, other_aor, bad_path] {
        let result = s.update_bindings(
            &aor,
            &[
                BindingChange::RemoveAll,
                BindingChange::Upsert(binding(ALICE, "sip:new@192.0.2.5", 60_000)),
                BindingChange::Upsert(bad),
            ],
            ts(0),
        );
        assert!(
            matches!(result, Err(StoreError::InvalidValue { .. })),
            "{result:?}"
        );
        assert_eq!(s.live_bindings(&aor, ts(0)).unwrap(), vec![kept.clone()]);
    }
    assert!(s
        .live_bindings(&addr("bob@example.test"), ts(0))
        .unwrap()
        .is_empty());
}

pub fn remove_binding_and_remove_all<S: Store>(s: &S) {
    let aor = addr(ALICE);
    for c in ["sip:a@192.0.2.1", "sip:b@192.0.2.2", "sip:c@192.0.2.3"] {
        s.upsert_binding(&binding(ALICE, c, 60_000)).unwrap();
    }
    assert!(s.remove_binding(&aor, "sip:b@192.0.2.2").unwrap());
    assert!(!s.remove_binding(&aor, "sip:b@192.0.2.2").unwrap());
    assert_eq!(s.live_bindings(&aor, ts(0)).unwrap().len(), 2);
    assert_eq!(s.remove_all_bindings(&aor).unwrap(), 2);
    assert_eq!(s.remove_all_bindings(&aor).unwrap(), 0);
    assert!(s.live_bindings(&aor, ts(0)).unwrap().is_empty());
}

pub fn purge_returns_what_it_removed<S: Store>(s: &S) {
    let old_b = binding("bob@example.test", "sip:b@192.0.2.2", 1_000);
    let old_a2 = full_binding(ALICE, "sip:z@192.0.2.9", 2_000);
    let old_a1 = binding(ALICE, "sip:y@192.0.2.8", 2_000);
    let fresh = binding(ALICE, "sip:x@192.0.2.7", 9_000);
    for b in [&old_b, &old_a2, &fresh, &old_a1] {
        s.upsert_binding(b).unwrap();
    }
    assert!(s.purge_expired_bindings(ts(999)).unwrap().is_empty());
    let removed = s.purge_expired_bindings(ts(2_000)).unwrap();
    // Ordered by AOR, then contact.
    assert_eq!(removed, vec![old_a1, old_a2, old_b]);
    assert!(s.purge_expired_bindings(ts(2_000)).unwrap().is_empty());
    assert_eq!(s.live_bindings(&addr(ALICE), ts(0)).unwrap(), vec![fresh]);
}

pub fn aors_are_isolated<S: Store>(s: &S) {
    let names = [
        "al@example.test",
        "alice@example.test",
        "alice@example.test.org",
        "alice@other.test",
    ];
    for (i, n) in names.iter().enumerate() {
        s.upsert_binding(&binding(n, &format!("sip:{i}@192.0.2.1"), 60_000))
            .unwrap();
    }
    for (i, n) in names.iter().enumerate() {
        let live = s.live_bindings(&addr(n), ts(0)).unwrap();
        assert_eq!(live.len(), 1, "{n}");
        assert_eq!(live[0].contact, format!("sip:{i}@192.0.2.1"));
    }
    assert_eq!(s.remove_all_bindings(&addr(ALICE)).unwrap(), 1);
    assert_eq!(
        s.live_bindings(&addr("alice@other.test"), ts(0))
            .unwrap()
            .len(),
        1
    );
}

/// `register` hands the plan the live bindings, writes what it returns, and reports the
/// bindings afterwards; a plan that changes nothing writes nothing.
pub fn register_plans_on_the_live_bindings<S: Store>(s: &S) {
    let aor = addr(ALICE);
    let old = binding(ALICE, "sip:alice@192.0.2.1", 60_000);
    s.upsert_binding(&old).unwrap();
    let new = binding(ALICE, "sip:alice@192.0.2.2", 60_000);
    let run = |plan: parley_store::BindingPlan| {
        let (tx, rx) = mpsc::channel();
        s.register(
            &aor,
            ts(1_000),
            plan,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.recv().unwrap()
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let saw = seen.clone();
    let added = new.clone();
    let r: Registered = run(Box::new(move |live: &[Binding]| {
        saw.lock().unwrap().extend_from_slice(live);
        vec![BindingChange::Upsert(added)]
    }))
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![old.clone()]);
    assert!(r.changed);
    assert_eq!(r.bindings, vec![old.clone(), new.clone()]);
    let r = run(Box::new(|_: &[Binding]| Vec::new())).unwrap();
    assert!(!r.changed);
    assert_eq!(r.bindings, vec![old.clone(), new]);
    // A plan for another AOR's binding is refused, and nothing is written.
    let stranger = binding("bob@example.test", "sip:bob@192.0.2.3", 60_000);
    let r = run(Box::new(move |_: &[Binding]| {
        vec![BindingChange::RemoveAll, BindingChange::Upsert(stranger)]
    }));
    assert!(matches!(r, Err(StoreError::InvalidValue { .. })));
    assert_eq!(s.live_bindings(&aor, ts(1_000)).unwrap().len(), 2);
}
