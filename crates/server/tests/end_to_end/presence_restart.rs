//! Subscriptions are durable: after the server restarts on the same data directory, a
//! PUBLISH still brings the watcher a NOTIFY, without the watcher subscribing again.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, next_notify, publish, subscribe};

#[tokio::test]
async fn a_watcher_is_notified_after_a_restart() {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");

    let server = server.restart().await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    publish(&mut alice, "after the restart", None).await;
    let n = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY after the restart");
    assert!(body(&n).contains("after the restart"), "{}", body(&n));
}
