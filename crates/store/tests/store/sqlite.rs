//! The conformance suite on [`SqliteStore`], then what only a durable store promises: data
//! survives closing and reopening the file, migrations run once and refuse a newer schema,
//! and concurrent writers are all committed (group commit) with failures kept to themselves.

use std::sync::Arc;

use parley_store::sqlite::{DATABASE_FILE, SCHEMA_VERSION};
use parley_store::{
    Address, AuthorizationStore, OfflineMessageStore, PublicationStore, RegistrationStore,
    RestoreStore, SqliteStore, StoreError, SubscriptionStore, SubscriptionUpdate, UserStore,
    WatcherDecision,
};
use tempfile::TempDir;

use crate::conformance::{
    addr, full_binding, full_subscription, message, publication, subscription, ts, user,
};

fn fixture() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (store, dir)
}

mod conformance_cases {
    crate::conformance_suite!(super::fixture());
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let alice = user("alice@example.test", 1);
    let b = full_binding("alice@example.test", "sip:alice@192.0.2.1", 60_000);
    let id = {
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.path(), dir.path().join(DATABASE_FILE));
        s.add_user(&alice).unwrap();
        s.upsert_binding(&b).unwrap();
        let id = s
            .enqueue_message(&message("alice@example.test", b"while you were out", 5), 10)
            .unwrap();
        s.record_delivery_attempt(id, Some(ts(7_000))).unwrap();
        id
    };
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.list_users().unwrap(), vec![alice]);
    assert_eq!(
        s.live_bindings(&addr("alice@example.test"), ts(0)).unwrap(),
        vec![b]
    );
    let pending = s.pending_messages(&addr("alice@example.test")).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(pending[0].body, b"while you were out");
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].next_attempt_at, Some(ts(7_000)));
    // Ids keep increasing across restarts, even after the newest message is deleted.
    assert!(s.delete_message(id).unwrap());
    drop(s);
    let s = SqliteStore::open(dir.path()).unwrap();
    let next = s
        .enqueue_message(&message("alice@example.test", b"again", 6), 10)
        .unwrap();
    assert!(next > id);
}

#[test]
fn migrations_are_idempotent_and_refuse_newer_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    for round in 0..3u8 {
        let s = SqliteStore::open(&nested).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        s.add_user(&user(&format!("u{round}@example.test"), round))
            .unwrap();
        assert_eq!(s.list_users().unwrap().len(), usize::from(round) + 1);
    }
    let file = nested.join(DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match SqliteStore::open_file(&file) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn concurrent_writers_all_commit_and_fail_alone() {
    let (store, _dir) = fixture();
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut exists = 0;
                for i in 0..25 {
                    s.add_user(&user(&format!("t{t}u{i}@example.test"), 1))
                        .unwrap();
                    // Every thread also races to add the same user: one wins.
                    match s.add_user(&user(&format!("shared{i}@example.test"), 1)) {
                        Ok(()) => {}
                        Err(StoreError::UserExists(_)) => exists += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                exists
            })
        })
        .collect();
    let lost: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(lost, 7 * 25);
    assert_eq!(store.list_users().unwrap().len(), 8 * 25 + 25);
}

#[test]
fn open_fails_cleanly_on_a_non_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(DATABASE_FILE);
    std::fs::write(
        &file,
        b"this is not an SQLite database, just text ...........",
    )
    .unwrap();
    assert!(matches!(
        SqliteStore::open(dir.path()),
        Err(StoreError::Backend(_))
    ));
}

/// Issue 4, "Durability": after a restart, publications and subscriptions (dialog, route set,
/// CSeq, contact, expiry) are back as they were, CSeqs keep increasing, and what expired
/// while the server was down is purged.
#[test]
fn presence_state_survives_reopening_and_expired_state_is_purged() {
    let dir = tempfile::tempdir().unwrap();
    let (live_sub, gone_sub, live_pub) = {
        let s = SqliteStore::open(dir.path()).unwrap();
        let live_pub = s
            .insert_publication(&publication("alice@example.test", "e1", b"<pidf/>", 60_000))
            .unwrap();
        s.insert_publication(&publication("alice@example.test", "e2", b"old", 5_000))
            .unwrap();
        let live = full_subscription("s1", "bob@example.test", "alice@example.test", 60_000);
        let gone = subscription("s2", "carol@example.test", "alice@example.test", 5_000);
        s.insert_subscription(&live, 10, ts(0)).unwrap();
        s.insert_subscription(&gone, 10, ts(0)).unwrap();
        assert_eq!(s.next_local_cseq("s1").unwrap(), u32::MAX);
        let live = s
            .update_subscription(
                "s1",
                &SubscriptionUpdate {
                    state: Some(parley_store::SubscriptionState::Active),
                    ..SubscriptionUpdate::default()
                },
            )
            .unwrap();
        s.set_authorization(
            &addr("alice@example.test"),
            &addr("bob@example.test"),
            WatcherDecision::Allow,
        )
        .unwrap();
        (live, gone, live_pub)
    };
    let s = SqliteStore::open(dir.path()).unwrap();
    let now = ts(10_000);
    assert_eq!(
        s.load_live_subscriptions(now).unwrap(),
        vec![live_sub.clone()]
    );
    assert_eq!(
        s.subscription_by_dialog(&live_sub.dialog.id).unwrap(),
        Some(live_sub.clone())
    );
    assert_eq!(
        s.load_live_publications(now).unwrap(),
        vec![live_pub.clone()]
    );
    assert_eq!(
        s.authorization(&addr("alice@example.test"), &addr("bob@example.test"))
            .unwrap(),
        Some(WatcherDecision::Allow)
    );
    assert_eq!(s.purge_expired_subscriptions(now).unwrap(), vec![gone_sub]);
    let purged = s.purge_expired_publications(now).unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].etag, "e2");
    // A publication inserted after the restart is newer than every one before it.
    let newer = s
        .insert_publication(&publication("alice@example.test", "e3", b"new", 60_000))
        .unwrap();
    assert!(newer.sequence > live_pub.sequence);
    drop(s);
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.subscription("s2").unwrap(), None);
    assert_eq!(s.publication("e2").unwrap(), None);
    assert_eq!(s.load_live_subscriptions(now).unwrap().len(), 1);
    assert_eq!(s.load_live_publications(now).unwrap().len(), 2);
}

/// Issue 5: many subscriptions load back quickly after a restart and stay compact on disk.
/// Inserted by concurrent writers so that group commit batches them, as the server would.
#[test]
fn a_hundred_thousand_subscriptions_load_back() {
    const N: usize = 100_000;
    const THREADS: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in (t..N).step_by(THREADS) {
                    let mut sub = subscription(
                        &format!("sub-{i:06}-5f2c9e"),
                        &format!("watcher{}@example.test", i % 20_000),
                        &format!("user{}@example.test", i % 10_000),
                        3_600_000,
                    );
                    sub.dialog.id.call_id = format!("{i:08x}-7d1e-4c5b-9a0f@192.0.2.1");
                    sub.dialog.id.local_tag = format!("{i:x}a9f3");
                    sub.dialog.id.remote_tag = format!("{i:x}c0ffee");
                    sub.dialog.remote_target =
                        format!("sip:watcher{i}@198.51.100.7:5060;transport=tcp;ob");
                    sub.dialog.route_set = vec!["<sip:edge.example.test;lr>".into()];
                    sub.state = parley_store::SubscriptionState::Active;
                    sub.source = Some(parley_store::Source {
                        transport: "tcp".into(),
                        address: "198.51.100.7:50123".parse().unwrap(),
                        connection_id: Some(i as u64),
                    });
                    s.insert_subscription(&sub, 100, ts(0)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    eprintln!("inserted {N} subscriptions in {:?}", started.elapsed());
    drop(store);
    let file = dir.path().join(DATABASE_FILE);
    let bytes = std::fs::metadata(&file).unwrap().len();
    let per_row = bytes / N as u64;
    eprintln!("database file: {bytes} bytes, {per_row} bytes per subscription");
    assert!(per_row <= 2048, "{per_row} bytes per subscription");

    let started = std::time::Instant::now();
    let s = SqliteStore::open(dir.path()).unwrap();
    let live = s.load_live_subscriptions(ts(1_000)).unwrap();
    eprintln!(
        "reopened and loaded {} subscriptions in {:?}",
        live.len(),
        started.elapsed()
    );
    assert_eq!(live.len(), N);
    // Read by one thread per core over rowid ranges: the same rows, split by shard.
    let shard_of = |a: &Address| a.as_str().bytes().map(usize::from).sum::<usize>() % 16;
    let sharded = s
        .load_live_subscriptions_sharded(ts(1_000), 16, &shard_of)
        .unwrap();
    for (i, shard) in sharded.iter().enumerate() {
        let mut expected: Vec<_> = live.iter().filter(|x| shard_of(&x.resource) == i).collect();
        let mut got: Vec<_> = shard.iter().collect();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        got.sort_by(|a, b| a.id.cmp(&b.id));
        assert!(got == expected, "shard {i}");
    }
    assert!(s.load_live_subscriptions(ts(3_600_000)).unwrap().is_empty());
    let fan_out = s
        .subscriptions_to(&addr("user7@example.test"), "presence", ts(1_000))
        .unwrap();
    assert_eq!(fan_out.len(), N / 10_000);
    let some = &live[N / 2];
    assert_eq!(
        s.subscription_by_dialog(&some.dialog.id).unwrap().as_ref(),
        Some(some)
    );
}
