//! Alice's watcher-information subscription survives a restart of the server: after it, when
//! Carol starts watching her, Alice gets the next document without subscribing again. Its
//! version continues the sequence (2 after 0 and 1), and it is full, since the restarted
//! server no longer knows what her last document said (RFC 3858 §4).

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{next_notify, next_notify_of, rows, subscribe, subscribe_winfo, winfo};
use parley_presence::winfo::DocState;

const WINFO: &str = "presence.winfo";

#[tokio::test]
async fn winfo_continues_after_a_restart() {
    let setup = Setup::with_users(
        "example.com",
        &[("alice", "a-pw"), ("bob", "b-pw"), ("carol", "c-pw")],
    );
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "a-pw").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "b-pw").await;
    subscribe_winfo(&mut alice, 600).await;
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert_eq!(doc.version, 0);
    subscribe(&mut bob, "alice@example.com", 600).await;
    next_notify(&mut bob, ANSWER).await.unwrap();
    let doc = winfo(&next_notify_of(&mut alice, WINFO, ANSWER).await.unwrap());
    assert_eq!((doc.version, doc.state), (1, DocState::Partial));

    let server = server.restart().await;
    let mut carol = Phone::udp(&server, "carol@example.com", "c-pw").await;
    subscribe(&mut carol, "alice@example.com", 600).await;
    next_notify(&mut carol, ANSWER).await.unwrap();
    let doc = winfo(
        &next_notify_of(&mut alice, WINFO, ANSWER * 2)
            .await
            .expect("a winfo NOTIFY after the restart"),
    );
    assert_eq!((doc.version, doc.state), (2, DocState::Full));
    let mut watchers = rows(&doc);
    watchers.sort();
    assert_eq!(
        watchers,
        [
            ("sip:bob@example.com".to_owned(), "active", "subscribe"),
            ("sip:carol@example.com".to_owned(), "active", "subscribe"),
        ]
    );
}
