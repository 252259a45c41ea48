//! Bob is registered and listening; the server delivers him a message Alice sent while he was
//! away, with a `Date` header. Bob's agent answers 200 and hands the message over with
//! sender, body and original time; the line printed for it starts with that time.

use crate::fake_server::{Behavior, FakeServer};
use crate::harness::agent;
use std::time::{Duration, UNIX_EPOCH};

#[tokio::test]
async fn a_delivered_message_reaches_the_application() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("bob@example.test", "hunter2", server.addr).await;
    let mut incoming = ua.take_incoming().unwrap();
    assert!(ua.take_incoming().is_none(), "only once");
    ua.register(300).await.unwrap();

    let response = server
        .deliver(
            "bob",
            "alice@example.test",
            "¿Qué tal? 🙂",
            Some("Sat, 13 Nov 2010 23:29:00 GMT"),
        )
        .await;
    assert_eq!(response.status(), Some(200));

    let message = tokio::time::timeout(Duration::from_secs(5), incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.from, "alice@example.test");
    assert_eq!(message.body, "¿Qué tal? 🙂".as_bytes());
    assert_eq!(
        message.date,
        Some(UNIX_EPOCH + Duration::from_secs(1_289_690_940))
    );
    assert_eq!(
        message.display_line(),
        "2010-11-13T23:29:00Z alice@example.test: ¿Qué tal? 🙂"
    );
}

#[tokio::test]
async fn without_a_reader_messages_are_refused() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("bob@example.test", "hunter2", server.addr).await;
    drop(ua.take_incoming());
    ua.register(300).await.unwrap();
    let response = server
        .deliver("bob", "alice@example.test", "hi", None)
        .await;
    assert_eq!(response.status(), Some(480));
}
