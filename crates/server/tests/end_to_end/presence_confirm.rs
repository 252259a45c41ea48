//! Under the `confirm` policy Alice decides who sees her. Bob's subscription stays pending
//! (a NOTIFY with `Subscription-State: pending` and no presence) and shows up in her watcher
//! information and in `GET /api/v1/presence/watchers`. Over that HTTP API (Digest
//! authenticated) she allows Bob, who then gets an active NOTIFY with her note while her winfo
//! says `approved`; she blocks Carol, whose subscription ends with `reason=rejected`; she
//! politely blocks Dave, who sees only a closed document. Bob may not read or change Alice's
//! list (403). Bad input gets a 4xx with a reason.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{
    api, body, header, http, next_notify, next_notify_of, publish, rows, subscribe,
    subscribe_winfo, winfo,
};
use parley_server::presence::SubscriptionPolicy;
use parley_sip::HeaderName;

const WINFO: &str = "presence.winfo";
const WATCHERS: &str = "/api/v1/presence/watchers";

fn state(m: &parley_sip::Message) -> String {
    header(m, HeaderName::SubscriptionState).unwrap_or_default()
}

#[tokio::test]
async fn alice_answers_her_pending_watchers_over_http() {
    let setup = Setup {
        presence_policy: SubscriptionPolicy::Confirm,
        ..Setup::with_users(
            "example.com",
            &[
                ("alice", "a-pw"),
                ("bob", "b-pw"),
                ("carol", "c-pw"),
                ("dave", "d-pw"),
            ],
        )
    };
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "b-pw").await;
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;
    let mut dave = Phone::udp(&server, "dave@example.com", "d-pw").await;
    publish(&mut alice, "in the garden", None).await;
    subscribe_winfo(&mut alice, 600).await;
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert!(rows(&doc).is_empty());

    subscribe(&mut bob, "alice@example.com", 600).await;
    let n = next_notify(&mut bob, ANSWER)
        .await
        .expect("a pending NOTIFY");
    assert!(state(&n).starts_with("pending"), "{n:?}");
    assert!(n.body.is_empty(), "no presence while pending: {}", body(&n));
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert_eq!(
        rows(&doc),
        [("sip:bob@example.com".to_owned(), "pending", "subscribe")]
    );

    // The API wants Alice's credentials.
    let (status, challenges, _) = http(server.addrs.http, "GET", WATCHERS, None, "").await;
    assert_eq!(status, 401);
    assert!(challenges
        .iter()
        .all(|c| c.contains("realm=\"example.com\"")));
    let (status, _) = api(&server, "alice", "wrong", "GET", WATCHERS, "").await;
    assert_eq!(status, 401);
    let (status, list) = api(&server, "alice", "a-pw", "GET", WATCHERS, "").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("\"watcher\":\"bob@example.com\""), "{list}");
    assert!(list.contains("\"status\":\"pending\""), "{list}");

    // The same under an explicit path; another user's list is not Bob's to see.
    let alices = "/api/v1/users/alice@example.com/presence/watchers";
    let (status, list) = api(&server, "alice", "a-pw", "GET", alices, "").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("\"watcher\":\"bob@example.com\""), "{list}");
    let (status, text) = api(&server, "bob", "b-pw", "GET", alices, "").await;
    assert_eq!(status, 403, "{text}");
    let as_bob = format!("{alices}/bob@example.com");
    let (status, _) = api(&server, "bob", "b-pw", "PUT", &as_bob, "allow").await;
    assert_eq!(status, 403);

    // Allow Bob: active, with the document; winfo says approved.
    let bob_path = format!("{WATCHERS}/bob@example.com");
    let (status, text) = api(&server, "alice", "a-pw", "PUT", &bob_path, "allow").await;
    assert_eq!(status, 200, "{text}");
    let n = next_notify(&mut bob, ANSWER)
        .await
        .expect("an active NOTIFY");
    assert!(state(&n).starts_with("active"), "{n:?}");
    assert!(body(&n).contains("in the garden"), "{}", body(&n));
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert_eq!(
        rows(&doc),
        [("sip:bob@example.com".to_owned(), "active", "approved")]
    );

    // Block Carol: her subscription ends, rejected.
    subscribe(&mut carol, "alice@example.com", 600).await;
    let n = next_notify(&mut carol, ANSWER).await.unwrap();
    assert!(state(&n).starts_with("pending"), "{n:?}");
    next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap();
    let carol_path = format!("{WATCHERS}/carol@example.com");
    let (status, _) = api(&server, "alice", "a-pw", "PUT", &carol_path, "block").await;
    assert_eq!(status, 200);
    let n = next_notify(&mut carol, ANSWER)
        .await
        .expect("a final NOTIFY");
    assert_eq!(state(&n), "terminated;reason=rejected");
    assert!(n.body.is_empty());
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert_eq!(
        rows(&doc),
        [("sip:carol@example.com".to_owned(), "terminated", "rejected")]
    );

    // Politely block Dave: active, but only a closed document.
    subscribe(&mut dave, "alice@example.com", 600).await;
    next_notify(&mut dave, ANSWER).await.unwrap();
    let dave_path = format!("{WATCHERS}/sip:dave@example.com");
    let (status, _) = api(&server, "alice", "a-pw", "PUT", &dave_path, "polite-block").await;
    assert_eq!(status, 200);
    let n = next_notify(&mut dave, ANSWER)
        .await
        .expect("an active NOTIFY");
    assert!(state(&n).starts_with("active"), "{n:?}");
    assert!(body(&n).contains("<basic>closed</basic>"), "{}", body(&n));
    assert!(!body(&n).contains("in the garden"), "{}", body(&n));

    let (_, list) = api(&server, "alice", "a-pw", "GET", WATCHERS, "").await;
    for decision in [
        "{\"watcher\":\"bob@example.com\",\"decision\":\"allow\"}",
        "{\"watcher\":\"carol@example.com\",\"decision\":\"block\"}",
        "{\"watcher\":\"dave@example.com\",\"decision\":\"polite-block\"}",
    ] {
        assert!(list.contains(decision), "{decision} not in {list}");
    }

    // Bad input: a clear 4xx with a reason.
    let (status, text) = api(&server, "alice", "a-pw", "PUT", &bob_path, "maybe").await;
    assert_eq!(status, 400);
    assert!(text.contains("allow, block or polite-block"), "{text}");
    let bad = format!("{WATCHERS}/not-an-address");
    let (status, text) = api(&server, "alice", "a-pw", "PUT", &bad, "allow").await;
    assert_eq!(status, 400, "{text}");
    let erin = format!("{WATCHERS}/erin@example.com");
    let (status, text) = api(&server, "alice", "a-pw", "DELETE", &erin, "").await;
    assert_eq!(status, 404, "{text}");
    let (status, _) = api(&server, "alice", "a-pw", "DELETE", &bob_path, "").await;
    assert_eq!(status, 204);
    let (_, list) = api(&server, "alice", "a-pw", "GET", WATCHERS, "").await;
    assert!(!list.contains("\"decision\":\"allow\""), "{list}");
}
