//! Alice sends Bob a UTF-8 message. The server challenges the MESSAGE with 407; the client
//! answers with Proxy-Authorization and gets 200: the caller sees "delivered". The body
//! arrives byte for byte with its Content-Type. A message to a user the server does not know
//! fails with "no such user".

use crate::fake_server::{Behavior, FakeServer};
use crate::harness::agent;
use parley_client::{Aor, ClientError};
use parley_sip::HeaderName;

#[tokio::test]
async fn message_with_proxy_authentication() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("alice@example.test", "secret", server.addr).await;
    let bob = Aor::parse("bob@example.test").unwrap();
    let text = "Grüße, Bob! 你好 ✓";
    let delivery = ua
        .send_message(&bob, "text/plain;charset=UTF-8", text.to_owned())
        .await
        .unwrap();
    assert_eq!(delivery.code, 200);
    assert!(delivery.delivered());

    let sent = server.received();
    assert_eq!(sent.len(), 2);
    assert!(sent[1]
        .headers
        .get(&HeaderName::ProxyAuthorization)
        .is_some());
    let stored = server.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, text.as_bytes());
    assert_eq!(
        stored[0].headers.get_str(&HeaderName::ContentType),
        Some("text/plain;charset=UTF-8")
    );
    assert_eq!(stored[0].uri().unwrap().to_string(), "sip:bob@example.test");

    // A second message goes with credentials up front: no new challenge.
    ua.send_message(&bob, "text/plain", "again").await.unwrap();
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn message_to_an_unknown_user() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("alice@example.test", "secret", server.addr).await;
    let nobody = Aor::parse("nobody@example.test").unwrap();
    let error = ua
        .send_message(&nobody, "text/plain", "hello?")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::UserUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "nobody@example.test: no such user (404 Not Found)"
    );
}
