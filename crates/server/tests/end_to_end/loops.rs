//! Requests never go round in circles: a contact that points at the server itself is
//! refused at registration (`403`), and a request that comes back through the server
//! unchanged while it is still being forwarded (a misconfigured next hop sending it back)
//! is refused with `482 Loop Detected` (RFC 3261 §16.3 step 4), while the original still
//! gets its answer.

use crate::harness::{request, Setup, TestServer, UdpClient, ANSWER};
use crate::phone::Phone;
use parley_sip::{HeaderName, StartLine, Uri};

fn setup() -> Setup {
    Setup::with_users("example.com", &[("bob", "hunter2")])
}

#[tokio::test]
async fn a_contact_pointing_at_the_server_is_refused() {
    let server = TestServer::start(setup()).await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    for contact in [
        format!("<sip:bob@{}>", server.udp()),
        "<sip:bob@example.com>".to_owned(),
    ] {
        let r = bob.register_contact(Some(&contact), None).await;
        assert_eq!(r.status(), Some(403), "{contact}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_sent_back_to_the_server_is_a_loop() {
    let server = TestServer::start(setup()).await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    assert_eq!(bob.register(None).await.status(), Some(200));
    // From another domain: not challenged, so the copy that comes back is the same request.
    let carol = UdpClient::bind(server.udp()).await;
    let text = request(
        "MESSAGE",
        "sip:bob@example.com",
        "UDP",
        carol.addr(),
        "Content-Type: text/plain\r\n",
    )
    .replace("sip:tester@example.com", "sip:carol@example.org");
    carol.send(text.as_bytes()).await;
    let at_bob = bob.next_request(ANSWER).await.expect("the MESSAGE arrives");

    // Bob's side sends it back to the server, addressed to Bob again.
    let mut back = at_bob.clone();
    if let StartLine::Request(line) = &mut back.start {
        line.uri = Uri::parse("sip:bob@example.com").unwrap();
    }
    back.headers.push_front(
        HeaderName::Via,
        format!("SIP/2.0/UDP {};branch=z9hG4bK-back;rport", bob.local_addr()),
    );
    let looped = bob
        .transact(std::str::from_utf8(&back.to_bytes()).unwrap())
        .await;
    assert_eq!(looped.status(), Some(482));

    bob.answer(&at_bob, 200).await;
    let answer = carol.recv(ANSWER).await.expect("the sender's answer");
    assert_eq!(answer.status(), Some(200));
    server.stop().await;
}
