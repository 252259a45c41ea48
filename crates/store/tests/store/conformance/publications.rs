//! Publications (RFC 3903): initial, refresh, modify, remove, expiry, entity-tag errors.

use parley_store::{PublicationBody, PublicationUpdate, Store, StoreError};

use super::{addr, publication, ts, wait_for};

const ALICE: &str = "alice@example.test";

pub fn publications_round_trip_and_list_live<S: Store>(s: &S) {
    let a = s
        .insert_publication(&publication(ALICE, "e1", b"<pidf a/>", 60_000))
        .unwrap();
    assert_eq!(a.etag, "e1");
    assert_eq!(a.body, b"<pidf a/>");
    assert_eq!(a.modified_at, ts(1_000));
    assert_eq!(s.publication("e1").unwrap(), Some(a.clone()));
    let b = s
        .insert_publication(&publication(ALICE, "e2", &[0, 255, 1], 30_000))
        .unwrap();
    assert!(b.sequence > a.sequence);
    // Other presentity, other event package.
    s.insert_publication(&publication("bob@example.test", "e3", b"x", 60_000))
        .unwrap();
    let mut dialog = publication(ALICE, "e4", b"d", 60_000);
    dialog.event = "dialog".into();
    s.insert_publication(&dialog).unwrap();

    let alice = addr(ALICE);
    assert_eq!(
        s.live_publications(&alice, "presence", ts(0)).unwrap(),
        vec![a.clone(), b.clone()]
    );
    // Liveness boundary: expires at `expires_at` exactly.
    assert_eq!(
        s.live_publications(&alice, "presence", ts(30_000)).unwrap(),
        vec![a.clone()]
    );
    assert!(s
        .live_publications(&alice, "presence", ts(60_000))
        .unwrap()
        .is_empty());
    let all = s.load_live_publications(ts(29_999)).unwrap();
    let etags: Vec<_> = all.iter().map(|p| p.etag.as_str()).collect();
    assert_eq!(etags, ["e1", "e2", "e3", "e4"]);
}

pub fn duplicate_and_invalid_publications_are_refused<S: Store>(s: &S) {
    s.insert_publication(&publication(ALICE, "e1", b"a", 60_000))
        .unwrap();
    assert!(matches!(
        s.insert_publication(&publication("bob@example.test", "e1", b"b", 60_000)),
        Err(StoreError::PublicationExists(e)) if e == "e1"
    ));
    for bad in ["", "has space", "ctl\u{1}"] {
        assert!(matches!(
            s.insert_publication(&publication(ALICE, bad, b"a", 60_000)),
            Err(StoreError::InvalidValue { .. })
        ));
    }
    let mut no_type = publication(ALICE, "e9", b"a", 60_000);
    no_type.content_type.clear();
    assert!(matches!(
        s.insert_publication(&no_type),
        Err(StoreError::InvalidValue { .. })
    ));
    assert_eq!(s.load_live_publications(ts(0)).unwrap().len(), 1);
}

pub fn refresh_and_modify_change_the_entity_tag<S: Store>(s: &S) {
    let first = s
        .insert_publication(&publication(ALICE, "e1", b"v1", 10_000))
        .unwrap();
    let other = s
        .insert_publication(&publication(ALICE, "e2", b"other", 10_000))
        .unwrap();
    // Refresh: new tag and expiry, same document, sequence and modification time.
    let refreshed = s
        .refresh_publication("e1", "e1b", ts(20_000), ts(5_000))
        .unwrap();
    assert_eq!(refreshed.etag, "e1b");
    assert_eq!(refreshed.expires_at, ts(20_000));
    assert_eq!(refreshed.body, b"v1");
    assert_eq!(refreshed.sequence, first.sequence);
    assert_eq!(refreshed.modified_at, first.modified_at);
    assert_eq!(s.publication("e1").unwrap(), None);
    assert_eq!(s.publication("e1b").unwrap(), Some(refreshed.clone()));
    // The old tag no longer matches.
    assert!(matches!(
        s.refresh_publication("e1", "e1c", ts(20_000), ts(5_000)),
        Err(StoreError::PublicationNotFound(e)) if e == "e1"
    ));
    // Modify: new document, newest sequence, modified now.
    let update = PublicationUpdate {
        new_etag: "e1c".into(),
        expires_at: ts(30_000),
        body: Some(PublicationBody {
            content_type: "application/pidf+xml".into(),
            body: b"v2".to_vec(),
        }),
    };
    let modified = s.update_publication("e1b", &update, ts(6_000)).unwrap();
    assert_eq!(modified.body, b"v2");
    assert_eq!(modified.modified_at, ts(6_000));
    assert!(modified.sequence > other.sequence);
    assert_eq!(
        s.live_publications(&addr(ALICE), "presence", ts(6_000))
            .unwrap(),
        vec![other.clone(), modified.clone()]
    );
    // A new tag that is another publication's is refused, and nothing changes.
    assert!(matches!(
        s.refresh_publication("e1c", "e2", ts(40_000), ts(6_000)),
        Err(StoreError::PublicationExists(e)) if e == "e2"
    ));
    assert_eq!(s.publication("e1c").unwrap(), Some(modified.clone()));
    // Keeping the same tag is allowed.
    let same = s
        .refresh_publication("e1c", "e1c", ts(40_000), ts(6_000))
        .unwrap();
    assert_eq!(same.expires_at, ts(40_000));
    // An invalid new tag is refused.
    assert!(matches!(
        s.refresh_publication("e1c", "", ts(40_000), ts(6_000)),
        Err(StoreError::InvalidValue { .. })
    ));
}

pub fn expired_publications_answer_expired_until_purged<S: Store>(s: &S) {
    s.insert_publication(&publication(ALICE, "old", b"a", 10_000))
        .unwrap();
    s.insert_publication(&publication(ALICE, "new", b"b", 50_000))
        .unwrap();
    assert!(matches!(
        s.refresh_publication("old", "old2", ts(60_000), ts(10_000)),
        Err(StoreError::PublicationExpired(e)) if e == "old"
    ));
    // Failing changed nothing: still stored, still expired.
    assert_eq!(
        s.publication("old").unwrap().unwrap().expires_at,
        ts(10_000)
    );
    let purged = s.purge_expired_publications(ts(10_000)).unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].etag, "old");
    assert!(s.purge_expired_publications(ts(10_000)).unwrap().is_empty());
    assert!(matches!(
        s.refresh_publication("old", "old2", ts(60_000), ts(10_000)),
        Err(StoreError::PublicationNotFound(_))
    ));
    assert_eq!(s.load_live_publications(ts(10_000)).unwrap().len(), 1);
}

pub fn remove_publication_returns_it<S: Store>(s: &S) {
    let p = s
        .insert_publication(&publication(ALICE, "e1", b"a", 10_000))
        .unwrap();
    assert_eq!(s.remove_publication("e1").unwrap(), Some(p));
    assert_eq!(s.remove_publication("e1").unwrap(), None);
    assert!(s.load_live_publications(ts(0)).unwrap().is_empty());
    // The tag is free again.
    s.insert_publication(&publication(ALICE, "e1", b"b", 10_000))
        .unwrap();
}

pub fn submitted_publication_writes_answer_as_the_calls<S: Store>(s: &S) {
    let first = publication(ALICE, "e1", b"a", 60_000);
    let stored = wait_for(|done| s.submit_insert_publication(first.clone(), done)).unwrap();
    // Durable when told: a read that follows sees it.
    assert_eq!(s.publication("e1").unwrap(), Some(stored.clone()));
    assert_eq!(stored.body, b"a");
    assert!(matches!(
        wait_for(|done| s.submit_insert_publication(first.clone(), done)),
        Err(StoreError::PublicationExists(e)) if e == "e1"
    ));
    assert!(matches!(
        wait_for(|done| s.submit_insert_publication(publication(ALICE, "bad tag", b"a", 1), done)),
        Err(StoreError::InvalidValue { .. })
    ));
    let modify = PublicationUpdate {
        new_etag: "e2".into(),
        expires_at: ts(90_000),
        body: Some(PublicationBody {
            content_type: "application/pidf+xml".into(),
            body: b"b".to_vec(),
        }),
    };
    let modified =
        wait_for(|done| s.submit_update_publication("e1".into(), modify.clone(), ts(2_000), done))
            .unwrap();
    assert_eq!(
        (modified.etag.as_str(), modified.body.as_slice()),
        ("e2", &b"b"[..])
    );
    assert!(modified.sequence > stored.sequence);
    assert_eq!(s.publication("e2").unwrap(), Some(modified.clone()));
    assert!(matches!(
        wait_for(|done| s.submit_update_publication("e1".into(), modify.clone(), ts(2_000), done)),
        Err(StoreError::PublicationNotFound(e)) if e == "e1"
    ));
    let removed = wait_for(|done| s.submit_remove_publication("e2".into(), done)).unwrap();
    assert_eq!(removed, Some(modified));
    assert_eq!(s.publication("e2").unwrap(), None);
    assert_eq!(
        wait_for(|done| s.submit_remove_publication("e2".into(), done)).unwrap(),
        None
    );
}
