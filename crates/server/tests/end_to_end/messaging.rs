//! Two signed-in phones exchange MESSAGEs through the server: the sender is challenged
//! (`407`) and must be who its From says; the recipient gets the body unchanged on every
//! registered contact (over UDP, or over the TCP connection it registered on) and the sender
//! gets the recipient's answer. Unknown users get `404`, a known user with no contact `480`
//! (except MESSAGE, see `offline`), too large a body `513`.

use crate::harness::{request, Received, Setup, StreamClient, TestServer, UdpClient, ANSWER};
use crate::phone::Phone;
use parley_sip::{HeaderName, Message};

fn setup() -> Setup {
    Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
}

async fn signed_in_udp(server: &TestServer, address: &str, password: &str) -> Phone {
    let mut phone = Phone::udp(server, address, password).await;
    assert_eq!(phone.register(None).await.status(), Some(200));
    phone
}

/// Bob's phone answers the next MESSAGE with `code` and returns it.
async fn receive(bob: &mut Phone, code: u16) -> Message {
    let m = bob.next_request(ANSWER).await.expect("the MESSAGE arrives");
    assert_eq!(m.method(), Some(&parley_sip::Method::Message));
    bob.answer(&m, code).await;
    m
}

#[tokio::test]
async fn a_message_between_two_udp_phones() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    let mut bob = signed_in_udp(&server, "bob@example.com", "hunter2").await;
    let text = "Grüße, Bob! ✓";
    let (sent, got) = tokio::join!(
        alice.message("bob@example.com", text),
        receive(&mut bob, 200)
    );
    assert_eq!(sent.status(), Some(200));
    assert_eq!(&got.body[..], text.as_bytes());
    assert_eq!(
        got.headers.get_str(&HeaderName::ContentType),
        Some("text/plain;charset=UTF-8")
    );
    assert_eq!(got.uri().unwrap().to_string(), bob.contact());
    assert_eq!(
        got.from_header().unwrap().uri.to_string(),
        "sip:alice@example.com"
    );
    assert_eq!(got.max_forwards().unwrap(), Some(69));
    // Alice's credentials were for us, not for Bob.
    assert!(got.headers.get(&HeaderName::ProxyAuthorization).is_none());
    // And the recipient's refusal comes back as it is.
    let (sent, _) = tokio::join!(
        alice.message("bob@example.com", "again"),
        receive(&mut bob, 486)
    );
    assert_eq!(sent.status(), Some(486));
    server.stop().await;
}

#[tokio::test]
async fn a_message_reaches_a_tcp_phone_over_its_registration_connection() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    let mut bob = Phone::tcp(&server, "bob@example.com", "hunter2").await;
    // Behind NAT: the contact names an address nobody listens on.
    let contact = "<sip:bob@192.0.2.77:5999;transport=tcp>";
    assert_eq!(
        bob.register_contact(Some(contact), None).await.status(),
        Some(200)
    );
    let (sent, got) = tokio::join!(
        alice.message("bob@example.com", "over tcp"),
        receive(&mut bob, 200)
    );
    assert_eq!(sent.status(), Some(200));
    assert_eq!(&got.body[..], b"over tcp");
    assert_eq!(
        got.uri().unwrap().to_string(),
        "sip:bob@192.0.2.77:5999;transport=tcp"
    );
    server.stop().await;
}

#[tokio::test]
async fn when_the_registration_connection_has_closed_the_contact_is_used() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    // Bob's phone listens for TCP connections at its contact.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let contact = format!("<sip:bob@{};transport=tcp>", listener.local_addr().unwrap());
    let mut bob = Phone::tcp(&server, "bob@example.com", "hunter2").await;
    assert_eq!(
        bob.register_contact(Some(&contact), None).await.status(),
        Some(200)
    );
    drop(bob);
    // The server notices the close before the MESSAGE is routed.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let deliver = async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut bob = StreamClient::new(stream);
        let Received::Message(m) = bob.recv(ANSWER).await else {
            panic!("no MESSAGE on the new connection")
        };
        let mut ok = m.response(200, "OK", Some("b"));
        ok.set_content_length();
        bob.send(&ok.to_bytes()).await;
        m
    };
    let (sent, got) = tokio::join!(alice.message("bob@example.com", "reconnect"), deliver);
    assert_eq!(sent.status(), Some(200));
    assert_eq!(&got.body[..], b"reconnect");
    server.stop().await;
}

#[tokio::test]
async fn a_message_forks_to_every_contact_and_the_success_wins() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    let mut desk = signed_in_udp(&server, "bob@example.com", "hunter2").await;
    let mut mobile = signed_in_udp(&server, "bob@example.com", "hunter2").await;
    let (sent, at_desk, on_mobile) = tokio::join!(
        alice.message("bob@example.com", "both of you"),
        receive(&mut desk, 486),
        receive(&mut mobile, 200),
    );
    assert_eq!(sent.status(), Some(200));
    assert_eq!(at_desk.body, on_mobile.body);
    // Both refuse: the best refusal comes back.
    let (sent, _, _) = tokio::join!(
        alice.message("bob@example.com", "again"),
        receive(&mut desk, 486),
        receive(&mut mobile, 500),
    );
    assert_eq!(sent.status(), Some(486));
    server.stop().await;
}

#[tokio::test]
async fn the_sender_must_authenticate_as_its_from() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    let text = alice.message_text("bob@example.com", "hi", None);
    let challenge = alice.transact(&text).await;
    assert_eq!(challenge.status(), Some(407));
    assert_eq!(
        challenge
            .auth_params(&HeaderName::ProxyAuthenticate)
            .unwrap()
            .len(),
        2
    );
    // Bob's credentials on a MESSAGE from Alice.
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let creds = bob.credentials(&challenge, "MESSAGE", "sip:bob@example.com");
    let text = alice.message_text("bob@example.com", "hi", Some(&creds));
    assert_eq!(alice.transact(&text).await.status(), Some(403));
    // A wrong password is challenged again.
    alice.password = "wrong".into();
    assert_eq!(
        alice.message("bob@example.com", "hi").await.status(),
        Some(407)
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_users_unreachable_users_and_large_bodies() {
    let server = TestServer::start(Setup {
        max_body_size: 100,
        ..setup()
    })
    .await;
    let mut alice = signed_in_udp(&server, "alice@example.com", "secret").await;
    assert_eq!(
        alice.message("nobody@example.com", "hi").await.status(),
        Some(404)
    );
    assert_eq!(
        alice
            .message("bob@example.com", &"x".repeat(101))
            .await
            .status(),
        Some(513)
    );
    // An OPTIONS to Bob, who has no contact: 480.
    let client = UdpClient::bind(server.udp()).await;
    let text = request("OPTIONS", "sip:bob@example.com", "UDP", client.addr(), "");
    assert_eq!(client.request(&text).await.unwrap().status(), Some(480));
    // Other domains are not relayed.
    assert_eq!(
        alice.message("carol@example.org", "hi").await.status(),
        Some(403)
    );
    server.stop().await;
}
