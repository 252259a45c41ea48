//! The conformance suite on [`SqliteStore`], then what only a durable store promises: data
//! survives closing and reopening the file, migrations run once and refuse a newer schema,
//! and concurrent writers are all committed (group commit) with failures kept to themselves.

use std::sync::Arc;

use parley_store::sqlite::{DATABASE_FILE, SCHEMA_VERSION};
use parley_store::{OfflineMessageStore, RegistrationStore, SqliteStore, StoreError, UserStore};
use tempfile::TempDir;

use crate::conformance::{addr, full_binding, message, ts, user};

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
