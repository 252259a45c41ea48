//! Publications and subscriptions that expired while the server was down are deleted from
//! the store when it starts again (and then every purge interval); live ones stay.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parley_store::presence::{DialogId, SubscriptionDialog, SubscriptionState};
use parley_store::{Address, NewPublication, Subscription, Timestamp};

use crate::harness::{Setup, TestServer};

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn subscription(id: &str, expires_at_ms: u64) -> Subscription {
    Subscription {
        id: id.into(),
        event: "presence".into(),
        watcher: Address::parse("bob@example.com").unwrap(),
        watcher_display_name: None,
        resource: Address::parse("alice@example.com").unwrap(),
        dialog: SubscriptionDialog {
            id: DialogId {
                call_id: format!("{id}@192.0.2.1"),
                local_tag: "l1".into(),
                remote_tag: "r1".into(),
            },
            local_cseq: 1,
            remote_cseq: 1,
            local_uri: "sip:alice@example.com".into(),
            remote_uri: "sip:bob@example.com".into(),
            remote_target: "sip:bob@192.0.2.1:5060".into(),
            local_contact: "sip:alice@127.0.0.1:5060".into(),
            route_set: Vec::new(),
            secure: false,
        },
        state: SubscriptionState::Active,
        expires_at: Timestamp::from_unix_millis(expires_at_ms),
        source: None,
        winfo_version: 0,
        created_at: Timestamp::from_unix_millis(expires_at_ms.saturating_sub(3_600_000)),
    }
}

fn publication(etag: &str, expires_at_ms: u64) -> NewPublication {
    NewPublication {
        presentity: Address::parse("alice@example.com").unwrap(),
        etag: etag.into(),
        event: "presence".into(),
        content_type: "application/pidf+xml".into(),
        body: b"<presence/>".to_vec(),
        expires_at: Timestamp::from_unix_millis(expires_at_ms),
        modified_at: Timestamp::from_unix_millis(expires_at_ms.saturating_sub(3_600_000)),
    }
}

#[tokio::test]
async fn rows_that_expired_while_the_server_was_down_are_deleted_at_start() {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let now = now_ms();
    // Expired a day ago; and live for another hour.
    let (old, live) = (now - 86_400_000, now + 3_600_000);
    let store = server.store.clone();
    let t = Timestamp::from_unix_millis(now - 90_000_000);
    store
        .insert_subscription(&subscription("gone", old), usize::MAX, t)
        .unwrap();
    store
        .insert_subscription(&subscription("kept", live), usize::MAX, t)
        .unwrap();
    store
        .insert_publication(&publication("gone-tag", old))
        .unwrap();
    store
        .insert_publication(&publication("kept-tag", live))
        .unwrap();
    drop(store);

    let server = server.restart().await;
    let store = server.store.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.subscription("gone").unwrap().is_some()
        || store.publication("gone-tag").unwrap().is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired rows still stored 10 s after the start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.subscription("kept").unwrap().is_some());
    assert!(store.publication("kept-tag").unwrap().is_some());
}
