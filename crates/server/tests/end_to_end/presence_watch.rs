//! A watcher subscribes to a presentity's presence through the server, which is the notifier
//! (RFC 3856 §6): `200` and at once a NOTIFY with the presentity's published note; a PUBLISH
//! that changes the note brings a NOTIFY with the new one; unsubscribing (`Expires: 0`)
//! brings a final NOTIFY with `Subscription-State: terminated`. A presentity that publishes
//! nothing and is not registered is `closed`.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, header, next_notify, publish, resubscribe, subscribe};
use parley_sip::HeaderName;

fn setup() -> Setup {
    Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
}

#[tokio::test]
async fn a_watcher_follows_the_note_of_a_presentity() {
    let server = TestServer::start(setup()).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let tag = publish(&mut alice, "in a meeting", None).await;

    let (mut dialog, ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    assert_eq!(header(&ok, HeaderName::Expires).as_deref(), Some("600"));
    assert!(header(&ok, HeaderName::AllowEvents).is_some_and(|v| v.contains("presence")));
    let first = next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");
    let state = header(&first, HeaderName::SubscriptionState).unwrap();
    assert!(state.starts_with("active;expires="), "{state}");
    assert!(body(&first).contains("in a meeting"), "{}", body(&first));

    publish(&mut alice, "back at my desk", Some(&tag)).await;
    let second = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY for the change");
    assert!(
        body(&second).contains("back at my desk"),
        "{}",
        body(&second)
    );

    let bye = resubscribe(&mut bob, &mut dialog, 0).await;
    assert_eq!(bye.status(), Some(200));
    let last = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("the final NOTIFY");
    let state = header(&last, HeaderName::SubscriptionState).unwrap();
    assert!(state.starts_with("terminated"), "{state}");
}

#[tokio::test]
async fn nobody_known_is_closed() {
    let server = TestServer::start(setup()).await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    let first = next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");
    assert!(body(&first).contains("closed"), "{}", body(&first));
}
