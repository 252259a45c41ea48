//! A phone signs in with a password: its REGISTER is challenged (`401`, SHA-256 and MD5),
//! the answer is accepted with the right password and challenged again with a wrong one; a
//! replayed or expired nonce is `stale`; the `200` lists every binding with its remaining
//! time and a `Date`; too short an interval gets `423` with `Min-Expires`; `Contact: *`
//! removes everything (and needs `Expires: 0`); registering someone else's address is `403`;
//! with authentication off, anyone at our domains registers.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::{Algorithm, Phone};
use parley_sip::header::Contact;
use parley_sip::{HeaderName, Message};
use std::time::Duration;

fn setup() -> Setup {
    Setup {
        min_expires: 60,
        ..Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
    }
}

/// `(contact URI, expires)` of each Contact of a REGISTER's `200`.
fn bindings(response: &Message) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for c in response.contacts().unwrap() {
        let Contact::Addresses(list) = c else {
            continue;
        };
        for a in list {
            let expires = a.params.get("expires").flatten().unwrap().parse().unwrap();
            out.push((a.uri.to_string(), expires));
        }
    }
    out
}

#[tokio::test]
async fn sha256_and_md5_credentials_register() {
    let server = TestServer::start(setup()).await;
    for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
        let mut phone = Phone::udp(&server, "alice@example.com", "secret").await;
        phone.algorithm = algorithm;
        let first = phone.register_once(None, Some(600), None).await;
        assert_eq!(first.status(), Some(401));
        let challenges = first.auth_params(&HeaderName::WwwAuthenticate).unwrap();
        assert_eq!(challenges.len(), 2, "SHA-256 and MD5 offered");
        let ok = phone.register(Some(600)).await;
        assert_eq!(ok.status(), Some(200), "{algorithm:?}: {ok:?}");
        let listed = bindings(&ok);
        assert!(
            listed
                .iter()
                .any(|(c, e)| *c == phone.contact() && (599..=600).contains(e)),
            "{listed:?}"
        );
        assert!(ok.headers.get(&HeaderName::Date).is_some());
    }
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_challenged_again() {
    let server = TestServer::start(setup()).await;
    let mut phone = Phone::udp(&server, "alice@example.com", "wrong").await;
    assert_eq!(phone.register(None).await.status(), Some(401));
    let mut stranger = Phone::udp(&server, "mallory@example.com", "secret").await;
    assert_eq!(stranger.register(None).await.status(), Some(401));
    server.stop().await;
}

#[tokio::test]
async fn registering_someone_else_is_forbidden() {
    let server = TestServer::start(setup()).await;
    // Bob's phone, with Alice's password for Alice's name in the credentials.
    let mut phone = Phone::udp(&server, "bob@example.com", "secret").await;
    let first = phone.register_once(None, None, None).await;
    phone.user = "alice".into();
    let creds = phone.credentials(&first, "REGISTER", "sip:example.com");
    phone.user = "bob".into();
    let r = phone.register_once(None, None, Some(&creds)).await;
    assert_eq!(r.status(), Some(403));
    server.stop().await;
}

#[tokio::test]
async fn replayed_and_expired_nonces_are_stale() {
    let server = TestServer::start(Setup {
        nonce_lifetime: Duration::from_secs(1),
        ..setup()
    })
    .await;
    let mut phone = Phone::udp(&server, "alice@example.com", "secret").await;
    let first = phone.register_once(None, None, None).await;
    let creds = phone.credentials(&first, "REGISTER", "sip:example.com");
    let ok = phone.register_once(None, None, Some(&creds)).await;
    assert_eq!(ok.status(), Some(200));
    // The same nonce-count again: a replay.
    let replay = phone.register_once(None, None, Some(&creds)).await;
    assert_eq!(replay.status(), Some(401));
    assert!(is_stale(&replay), "{replay:?}");
    // A fresh count after the nonce expired.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let creds = phone.credentials(&first, "REGISTER", "sip:example.com");
    let late = phone.register_once(None, None, Some(&creds)).await;
    assert_eq!(late.status(), Some(401));
    assert!(is_stale(&late), "{late:?}");
    server.stop().await;
}

fn is_stale(response: &Message) -> bool {
    response
        .auth_params(&HeaderName::WwwAuthenticate)
        .unwrap()
        .iter()
        .all(|c| {
            c.params
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("stale") && v.eq_ignore_ascii_case("true"))
        })
}

#[tokio::test]
async fn too_brief_intervals_get_423_with_min_expires() {
    let server = TestServer::start(setup()).await;
    let mut phone = Phone::udp(&server, "alice@example.com", "secret").await;
    let r = phone.register(Some(30)).await;
    assert_eq!(r.status(), Some(423));
    assert_eq!(r.min_expires().unwrap(), Some(60));
    server.stop().await;
}

#[tokio::test]
async fn several_contacts_then_star_removes_them_all() {
    let server = TestServer::start(setup()).await;
    let mut phone = Phone::udp(&server, "alice@example.com", "secret").await;
    assert_eq!(phone.register(Some(300)).await.status(), Some(200));
    let other = "<sip:alice@192.0.2.10:5070>;q=0.5;expires=120";
    let r = phone.register_contact(Some(other), None).await;
    assert_eq!(r.status(), Some(200));
    let mut listed = bindings(&r);
    listed.sort();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed[0].0,
        "sip:alice@127.0.0.1:".to_owned() + &phone.local_addr().port().to_string()
    );
    assert!((299..=300).contains(&listed[0].1));
    assert_eq!(listed[1], ("sip:alice@192.0.2.10:5070".into(), 120));
    // `*` without Expires: 0 is malformed.
    assert_eq!(
        phone.register_contact(Some("*"), Some(60)).await.status(),
        Some(400)
    );
    let r = phone.register_contact(Some("*"), Some(0)).await;
    assert_eq!(r.status(), Some(200));
    assert!(bindings(&r).is_empty());
    // The bindings are gone from the store too.
    let alice = parley_store::Address::parse("alice@example.com").unwrap();
    let now = parley_server::clock::now();
    assert!(server.store.live_bindings(&alice, now).unwrap().is_empty());
    server.stop().await;
}

/// With authentication off there are no accounts to check: anyone at our domains registers
/// and can be reached, as on a registrar without authentication (the benchmark harness relies
/// on it, with fresh names on every run).
#[tokio::test]
async fn without_authentication_anyone_at_our_domains_registers_and_is_reachable() {
    let server = TestServer::start(Setup {
        auth: false,
        ..setup()
    })
    .await;
    let mut alice = Phone::udp(&server, "alice@example.com", "anything").await;
    assert_eq!(alice.register(None).await.status(), Some(200));
    let mut newcomer = Phone::udp(&server, "newcomer@example.com", "x").await;
    let r = newcomer.register(None).await;
    assert_eq!(r.status(), Some(200));
    assert_eq!(bindings(&r).len(), 1);
    let (sent, got) = tokio::join!(alice.message("newcomer@example.com", "welcome"), async {
        let m = newcomer
            .next_request(ANSWER)
            .await
            .expect("the MESSAGE arrives");
        newcomer.answer(&m, 200).await;
        m
    });
    assert_eq!(sent.status(), Some(200));
    assert_eq!(&got.body[..], b"welcome");
    server.stop().await;
}
