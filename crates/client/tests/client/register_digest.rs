//! Alice registers with her password. She sees: "registered for 300 s". On the wire: the
//! first REGISTER is challenged (401), the second carries SHA-256 digest credentials with the
//! same Call-ID and the next CSeq; a refresh reuses the nonce with nc=2 and is accepted at
//! once; unregistering sends Expires: 0 for her contact and the binding is gone. A registrar
//! that answers `stale=true` once is answered again without any error.

use crate::fake_server::{Behavior, FakeServer};
use crate::harness::agent;
use parley_sip::HeaderName;

#[tokio::test]
async fn register_refresh_unregister() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("alice@example.test", "secret", server.addr).await;

    let registration = ua.register(3600).await.unwrap();
    assert_eq!(registration.expires, 300, "the registrar's maximum");
    assert_eq!(
        registration.contact,
        format!("sip:alice@{}", ua.local_addr())
    );
    let binding = server.binding("alice").unwrap();
    assert_eq!(binding.contact, registration.contact);
    assert_eq!(binding.expires, 300);

    let sent = server.received();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].headers.get(&HeaderName::Authorization).is_none());
    let creds = sent[1].headers.get_str(&HeaderName::Authorization).unwrap();
    assert!(
        creds.contains("algorithm=SHA-256") && creds.contains("nc=00000001"),
        "{creds}"
    );
    assert_eq!(sent[0].call_id().unwrap(), sent[1].call_id().unwrap());
    assert_eq!(sent[1].cseq().unwrap().seq, sent[0].cseq().unwrap().seq + 1);

    // A refresh: one request, credentials up front with the next nonce-count.
    ua.register(3600).await.unwrap();
    let sent = server.received();
    assert_eq!(sent.len(), 3);
    let creds = sent[2].headers.get_str(&HeaderName::Authorization).unwrap();
    assert!(creds.contains("nc=00000002"), "{creds}");
    assert_eq!(sent[2].call_id().unwrap(), sent[0].call_id().unwrap());

    ua.unregister().await.unwrap();
    let last = server.received().pop().unwrap();
    assert_eq!(last.expires().unwrap(), Some(0));
    assert!(server.binding("alice").is_none());
    ua.shutdown().await;
}

#[tokio::test]
async fn a_stale_nonce_is_answered_again() {
    let server = FakeServer::start(Behavior {
        stale_once: true,
        ..Behavior::default()
    })
    .await;
    let ua = agent("alice@example.test", "secret", server.addr).await;
    ua.register(60).await.unwrap();
    let sent = server.received();
    assert_eq!(sent.len(), 3, "401, 401 stale, 200");
    assert!(server.binding("alice").is_some());
}

#[tokio::test]
async fn interval_too_brief_is_raised_to_min_expires() {
    let server = FakeServer::start(Behavior {
        min_expires: 120,
        ..Behavior::default()
    })
    .await;
    let ua = agent("alice@example.test", "secret", server.addr).await;
    let registration = ua.register(30).await.unwrap();
    assert_eq!(registration.expires, 120);
    assert_eq!(
        server.received().last().unwrap().expires().unwrap(),
        Some(120)
    );
}
