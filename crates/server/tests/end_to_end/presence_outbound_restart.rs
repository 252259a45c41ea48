//! A watcher over TCP that follows RFC 5626 (as pjsua2 does) puts in its Contact the port
//! of its own outgoing connection with `;ob`, where nothing listens, plus its
//! `+sip.instance` and `reg-id`. The server restarts: its connection is gone. The watcher
//! connects again and registers a new contact URI (the new connection's port) with the same
//! REGISTER Call-ID: as pjsua2 does it (removing the old contact, the new one without the
//! instance), or as RFC 5626 §4.5 has it (the same instance and `reg-id`). The presentity's
//! next change reaches it over that new connection, in the subscription made before the
//! restart (the NOTIFY's Request-URI is still the old contact), whether the change comes
//! after the new REGISTER or before it (the NOTIFY then waits for the REGISTER instead of
//! failing on the dead port).

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, next_notify, publish, subscribe};
use parley_sip::Message;
use std::time::Duration;

const INSTANCE: &str = "<urn:uuid:00000000-0000-0000-0000-0000a30f0000>";

/// A `;ob` contact URI on a local port nothing listens on.
async fn dead_contact() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("sip:bob@127.0.0.1:{port};transport=TCP;ob")
}

/// Registers `contact` for bob's instance over his current connection.
async fn register_flow(bob: &mut Phone, contact: &str) {
    let value = format!("<{contact}>;reg-id=1;+sip.instance=\"{INSTANCE}\"");
    register(bob, contact, &value).await;
}

/// Registers `contact` as pjsua2 2.15 does after its connection broke, when the registrar
/// did not answer `Require: outbound`: the new contact without instance, and `old` removed.
async fn register_like_pjsua(bob: &mut Phone, contact: &str, old: &str) {
    let value = format!("<{contact}>, <{old}>;expires=0;reg-id=1;+sip.instance=\"{INSTANCE}\"");
    register(bob, contact, &value).await;
}

async fn register(bob: &mut Phone, contact: &str, header: &str) {
    bob.set_contact(contact);
    let ok = bob.register_contact(Some(header), Some(600)).await;
    assert_eq!(ok.status(), Some(200), "{ok:?}");
}

/// The first NOTIFY whose body has `note`, within `wait` (each answered `200`).
async fn notify_with(bob: &mut Phone, note: &str, wait: Duration) -> Message {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let n = next_notify(bob, left)
            .await
            .unwrap_or_else(|| panic!("no NOTIFY with {note:?}"));
        if body(&n).contains(note) {
            return n;
        }
    }
}

/// Bob (TCP, outbound) watches alice; the server restarts; bob connects again. Returns
/// the new server, bob, and his first contact (the subscription's remote target).
async fn watch_then_restart() -> (TestServer, Phone, String) {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let mut bob = Phone::tcp(&server, "bob@example.com", "hunter2").await;
    let first = dead_contact().await;
    register_flow(&mut bob, &first).await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");
    let server = server.restart().await;
    bob.reconnect_tcp(&server).await;
    (server, bob, first)
}

#[tokio::test]
async fn the_notify_goes_over_the_connection_of_the_new_registration() {
    let (server, mut bob, first) = watch_then_restart().await;
    register_like_pjsua(&mut bob, &dead_contact().await, &first).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    publish(&mut alice, "after the restart", None).await;
    let n = notify_with(&mut bob, "after the restart", ANSWER * 2).await;
    assert_eq!(n.uri().unwrap().to_string(), first);
}

#[tokio::test]
async fn a_notify_waits_for_the_watcher_to_register_again() {
    let (server, mut bob, first) = watch_then_restart().await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    publish(&mut alice, "before bob is back", None).await;
    register_flow(&mut bob, &dead_contact().await).await;
    let n = notify_with(&mut bob, "before bob is back", ANSWER * 2).await;
    assert_eq!(n.uri().unwrap().to_string(), first);
    // The subscription lives on: the next change comes too.
    publish(&mut alice, "and then", None).await;
    notify_with(&mut bob, "and then", ANSWER * 2).await;
}
