//! Bob uses TCP. He registers (Contact with `transport=tcp`, Via over TCP), sends a message,
//! and a message for him comes back over the connection he registered on — the only way a
//! server reaches a client behind a NAT — and is answered on it.

use crate::fake_server::{Behavior, FakeServer, Source};
use crate::harness::{config, tcp};
use parley_client::{Aor, UserAgent};
use parley_sip::HeaderName;
use std::time::Duration;

#[tokio::test]
async fn register_send_and_receive_over_tcp() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = UserAgent::start(config(
        "bob@example.test",
        "hunter2",
        vec![tcp(server.addr)],
    ))
    .await
    .unwrap();
    let mut incoming = ua.take_incoming().unwrap();
    let registration = ua.register(120).await.unwrap();
    assert!(
        registration.contact.ends_with(";transport=tcp"),
        "{}",
        registration.contact
    );
    let sent = server.received();
    let via = sent[0].headers.get_str(&HeaderName::Via).unwrap();
    assert!(via.starts_with("SIP/2.0/TCP "), "{via}");
    assert!(matches!(
        server.binding("bob").unwrap().source,
        Source::Tcp(_)
    ));

    let alice = Aor::parse("alice@example.test").unwrap();
    let delivery = ua
        .send_message(&alice, "text/plain", "über TCP")
        .await
        .unwrap();
    assert_eq!(delivery.code, 200);

    let response = server
        .deliver("bob", "alice@example.test", "zurück", None)
        .await;
    assert_eq!(response.status(), Some(200));
    let message = tokio::time::timeout(Duration::from_secs(5), incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.body, "zurück".as_bytes());
    ua.unregister().await.unwrap();
    assert!(server.binding("bob").is_none());
    ua.shutdown().await;
}
