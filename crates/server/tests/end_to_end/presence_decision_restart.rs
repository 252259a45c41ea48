//! Alice's decisions are durable and win over the server's `allow` policy: she politely
//! blocks Bob and blocks Carol. Bob's subscription is accepted but shows her as closed;
//! Carol's is refused. After a restart Bob's subscription, restored from the store, still
//! shows only a closed document when Alice publishes, and Carol is still refused.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{api, body, next_notify, publish, subscribe, try_subscribe};

const WATCHERS: &str = "/api/v1/presence/watchers";

#[tokio::test]
async fn decisions_survive_a_restart() {
    let setup = Setup::with_users(
        "example.com",
        &[("alice", "a-pw"), ("bob", "b-pw"), ("carol", "c-pw")],
    );
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    publish(&mut alice, "secret plans", None).await;
    let bob_path = format!("{WATCHERS}/bob@example.com");
    let carol_path = format!("{WATCHERS}/carol@example.com");
    assert_eq!(
        api(&server, "alice", "a-pw", "PUT", &bob_path, "polite-block")
            .await
            .0,
        200
    );
    assert_eq!(
        api(&server, "alice", "a-pw", "PUT", &carol_path, "block")
            .await
            .0,
        200
    );

    let mut bob = Phone::udp(&server, "bob@example.com", "b-pw").await;
    subscribe(&mut bob, "alice@example.com", 600).await;
    let n = next_notify(&mut bob, ANSWER).await.unwrap();
    assert!(body(&n).contains("<basic>closed</basic>"), "{}", body(&n));
    assert!(!body(&n).contains("secret plans"));
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;
    let refused = try_subscribe(
        &mut carol,
        "alice@example.com",
        "presence",
        "application/pidf+xml",
    )
    .await;
    assert_eq!(refused.status(), Some(403));

    let server = server.restart().await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    publish(&mut alice, "more secret plans", None).await;
    let n = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY after the restart");
    assert!(body(&n).contains("<basic>closed</basic>"), "{}", body(&n));
    assert!(!body(&n).contains("secret plans"), "{}", body(&n));
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;
    let refused = try_subscribe(
        &mut carol,
        "alice@example.com",
        "presence",
        "application/pidf+xml",
    )
    .await;
    assert_eq!(refused.status(), Some(403));
    let (_, list) = api(&server, "alice", "a-pw", "GET", WATCHERS, "").await;
    assert!(list.contains("\"decision\":\"polite-block\""), "{list}");
}
