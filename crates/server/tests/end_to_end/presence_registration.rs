//! A user who registers but never publishes appears `open` to watchers: the watcher first
//! sees `closed` (nothing known), then, when the presentity registers, a NOTIFY with `open`,
//! and when they unregister, `closed` again.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, next_notify, subscribe};

#[tokio::test]
async fn registering_makes_a_silent_user_open() {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    let first = next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");
    assert!(body(&first).contains("closed"), "{}", body(&first));

    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    assert_eq!(alice.register(None).await.status(), Some(200));
    let n = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY for the registration");
    assert!(body(&n).contains("open"), "{}", body(&n));

    assert_eq!(alice.register(Some(0)).await.status(), Some(200));
    let n = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY for the removal");
    assert!(body(&n).contains("<basic>closed</basic>"), "{}", body(&n));
}
