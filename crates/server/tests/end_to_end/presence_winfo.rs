//! Alice watches who watches her (`presence.winfo`, RFC 3857, RFC 3858). Her first NOTIFY
//! carries the full list at version 0 (Bob, active, with how long he has been subscribed);
//! when Carol ("Carol Cooper") subscribes and Bob leaves she gets partial documents with
//! versions 1 and 2 that name only them; refreshing her subscription brings the full list again, version 3. Nobody
//! else may see her watchers (403), and a SUBSCRIBE that does not accept watcherinfo
//! documents gets 406.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{
    header, next_notify, next_notify_of, resubscribe, rows, subscribe, subscribe_as,
    subscribe_winfo, try_subscribe, winfo, WATCHERINFO_TYPE,
};
use parley_presence::winfo::DocState;
use parley_sip::HeaderName;

const WINFO: &str = "presence.winfo";

#[tokio::test]
async fn alice_sees_her_watchers_come_and_go() {
    let setup = Setup::with_users(
        "example.com",
        &[("alice", "a-pw"), ("bob", "b-pw"), ("carol", "c-pw")],
    );
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "b-pw").await;
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;

    let (mut bobs, _) = subscribe(&mut bob, "alice@example.com", 600).await;
    next_notify(&mut bob, ANSWER).await.expect("Bob's NOTIFY");

    let (mut mine, ok) = subscribe_winfo(&mut alice, 600).await;
    assert!(header(&ok, HeaderName::AllowEvents).is_some_and(|v| v.contains(WINFO)));
    let n = next_notify_of(&mut alice, WINFO, ANSWER)
        .await
        .expect("the first winfo NOTIFY");
    assert!(header(&n, HeaderName::SubscriptionState).is_some_and(|s| s.starts_with("active")));
    let doc = winfo(&n);
    assert_eq!((doc.version, doc.state), (0, DocState::Full));
    assert_eq!(doc.lists[0].resource, "sip:alice@example.com");
    assert_eq!(doc.lists[0].package, "presence");
    assert_eq!(
        rows(&doc),
        [("sip:bob@example.com".to_owned(), "active", "subscribe")]
    );
    assert!(doc.lists[0].watchers[0].duration_subscribed.is_some());

    subscribe_as(&mut carol, "Carol Cooper", "alice@example.com").await;
    next_notify(&mut carol, ANSWER)
        .await
        .expect("Carol's NOTIFY");
    let doc = winfo(
        &next_notify_of(&mut alice, WINFO, ANSWER)
            .await
            .expect("Carol arrives"),
    );
    assert_eq!((doc.version, doc.state), (1, DocState::Partial));
    assert_eq!(
        rows(&doc),
        [("sip:carol@example.com".to_owned(), "active", "subscribe")]
    );
    assert_eq!(
        doc.lists[0].watchers[0].display_name.as_deref(),
        Some("Carol Cooper")
    );

    let ok = resubscribe(&mut bob, &mut bobs, 0).await;
    assert_eq!(ok.status(), Some(200));
    next_notify(&mut bob, ANSWER)
        .await
        .expect("Bob's final NOTIFY");
    let doc = winfo(
        &next_notify_of(&mut alice, WINFO, ANSWER)
            .await
            .expect("Bob leaves"),
    );
    assert_eq!((doc.version, doc.state), (2, DocState::Partial));
    assert_eq!(
        rows(&doc),
        [("sip:bob@example.com".to_owned(), "terminated", "timeout")]
    );

    let ok = resubscribe(&mut alice, &mut mine, 600).await;
    assert_eq!(ok.status(), Some(200));
    let doc = winfo(
        &next_notify_of(&mut alice, WINFO, ANSWER)
            .await
            .expect("a refresh"),
    );
    assert_eq!((doc.version, doc.state), (3, DocState::Full));
    assert_eq!(
        rows(&doc),
        [("sip:carol@example.com".to_owned(), "active", "subscribe")]
    );
}

#[tokio::test]
async fn only_alice_may_watch_her_watchers() {
    let setup = Setup::with_users("example.com", &[("alice", "a-pw"), ("carol", "c-pw")]);
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;

    let refused = try_subscribe(&mut carol, "alice@example.com", WINFO, WATCHERINFO_TYPE).await;
    assert_eq!(refused.status(), Some(403), "{refused:?}");

    let refused = try_subscribe(
        &mut alice,
        "alice@example.com",
        WINFO,
        "application/pidf+xml",
    )
    .await;
    assert_eq!(refused.status(), Some(406), "{refused:?}");
    assert_eq!(
        header(&refused, HeaderName::Accept).as_deref(),
        Some(WATCHERINFO_TYPE)
    );
}
