//! A message to a signed-out user is kept and delivered when they sign in again, even after
//! a server restart in between: the sender gets `202 Accepted`; the recipient later gets
//! the MESSAGE from the original sender with the original time in `Date`, and once they
//! answer `200` it is deleted. A recipient that refuses gets it again later, and the store
//! never holds it twice. A full mailbox is `480` with a reason that says so.

use crate::harness::{reason, Setup, TestServer, ANSWER};
use crate::phone::Phone;
use parley_sip::header::date::parse_date;
use parley_sip::{HeaderName, Method};
use parley_store::Address;
use std::time::Duration;

fn setup() -> Setup {
    Setup {
        retry_interval: Duration::from_secs(1),
        ..Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
    }
}

fn bob_address() -> Address {
    Address::parse("bob@example.com").unwrap()
}

fn pending(server: &TestServer) -> usize {
    server.store.count_pending(&bob_address()).unwrap()
}

/// Alice (registered) sends to Bob, who registered and signed out again; the status and
/// reason phrase of each answer.
async fn send_while_bob_is_away(server: &TestServer, texts: &[&str]) -> Vec<(u16, String)> {
    let mut bob = Phone::udp(server, "bob@example.com", "hunter2").await;
    assert_eq!(bob.register(None).await.status(), Some(200));
    assert_eq!(bob.register(Some(0)).await.status(), Some(200));
    let mut alice = Phone::udp(server, "alice@example.com", "secret").await;
    assert_eq!(alice.register(None).await.status(), Some(200));
    let mut codes = Vec::new();
    for text in texts {
        let r = alice.message("bob@example.com", text).await;
        codes.push((r.status().unwrap(), reason(&r)));
    }
    codes
}

#[tokio::test]
async fn delivered_after_a_restart_with_the_original_date_then_deleted() {
    let server = TestServer::start(setup()).await;
    let before = parley_server::clock::now().as_unix_secs();
    let codes = send_while_bob_is_away(&server, &["first", "second ✓"]).await;
    assert!(codes.iter().all(|(code, _)| *code == 202), "{codes:?}");
    assert_eq!(pending(&server), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let server = server.restart().await;
    assert_eq!(pending(&server), 2, "kept across the restart");
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    assert_eq!(bob.register(None).await.status(), Some(200));
    for expected in ["first", "second ✓"] {
        let m = bob.next_request(ANSWER).await.expect("a stored message");
        assert_eq!(m.method(), Some(&Method::Message));
        assert_eq!(&m.body[..], expected.as_bytes());
        assert_eq!(
            m.from_header().unwrap().uri.to_string(),
            "sip:alice@example.com"
        );
        assert_eq!(m.from_header().unwrap().display, Some("\"alice\""));
        let date = parse_date(m.headers.get_str(&HeaderName::Date).unwrap()).unwrap();
        assert!(
            (before..=before + 1).contains(&date),
            "Date is when it was sent ({before}), not now: {date}"
        );
        bob.answer(&m, 200).await;
    }
    wait_until(|| pending(&server) == 0).await;
    // Nothing more comes.
    assert!(bob
        .next_request(Duration::from_millis(1500))
        .await
        .is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_refused_delivery_is_retried_and_never_stored_twice() {
    let server = TestServer::start(setup()).await;
    assert_eq!(send_while_bob_is_away(&server, &["hello"]).await[0].0, 202);
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    assert_eq!(bob.register(None).await.status(), Some(200));
    let first = bob.next_request(ANSWER).await.expect("delivered");
    bob.answer(&first, 500).await;
    // Retried after the retry interval (1 s), not duplicated in the meantime.
    let again = bob
        .next_request(Duration::from_secs(5))
        .await
        .expect("retried");
    assert_eq!(again.body, first.body);
    assert_ne!(again.call_id().unwrap(), first.call_id().unwrap());
    assert_eq!(pending(&server), 1);
    let stored = server.store.pending_messages(&bob_address()).unwrap();
    assert_eq!(stored[0].attempts, 1);
    bob.answer(&again, 200).await;
    wait_until(|| pending(&server) == 0).await;
    server.stop().await;
}

#[tokio::test]
async fn a_full_mailbox_is_480() {
    let server = TestServer::start(Setup {
        offline_limit: 2,
        ..setup()
    })
    .await;
    let codes = send_while_bob_is_away(&server, &["1", "2", "3"]).await;
    let statuses: Vec<u16> = codes.iter().map(|(c, _)| *c).collect();
    assert_eq!(statuses, [202, 202, 480]);
    assert!(codes[2].1.contains("mailbox full"), "{codes:?}");
    assert_eq!(pending(&server), 2);
    server.stop().await;
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in 5 s");
}
