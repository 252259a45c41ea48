//! A call between two signed-in phones goes through the proxy: the INVITE is challenged
//! (`407`), then forwarded with our `Record-Route` on top; ringing and the answer come back;
//! the ACK and the BYE, sent along the recorded route, reach the other phone whatever their
//! Request-URI (loose routing). A CANCEL before the answer is answered `200` and forwarded
//! to the ringing phone, which answers it `200` and its INVITE `487`; that `487` reaches the
//! caller. (Calls forked to several phones: `forked_call`.)

use crate::harness::{parse, unique, Setup, TestServer, ANSWER};
use crate::phone::Phone;
use parley_sip::{HeaderName, Message, Method};

pub(crate) fn setup() -> Setup {
    Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
}

pub(crate) async fn signed_in(server: &TestServer, address: &str, password: &str) -> Phone {
    let mut phone = Phone::udp(server, address, password).await;
    assert_eq!(phone.register(None).await.status(), Some(200));
    phone
}

/// An INVITE from `alice` to `to`, with this branch and CSeq.
pub(crate) fn invite(
    alice: &Phone,
    to: &str,
    branch: &str,
    cseq: u32,
    creds: Option<&str>,
) -> String {
    let auth = creds.map_or(String::new(), |c| format!("Proxy-Authorization: {c}\r\n"));
    format!(
        "INVITE sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {addr};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <{aor}>;tag=caller\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: call-{branch}\r\n\
         CSeq: {cseq} INVITE\r\n\
         Contact: <{contact}>\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        addr = alice.local_addr(),
        aor = alice.aor(),
        contact = alice.contact(),
    )
}

/// The ACK of a non-2xx final response: same branch as the INVITE (§17.1.1.3).
pub(crate) fn ack_for(invite_text: &str, response: &Message) -> String {
    let invite = parse(invite_text.as_bytes());
    format!(
        "ACK {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
         Call-ID: {call_id}\r\nCSeq: {seq} ACK\r\nContent-Length: 0\r\n\r\n",
        uri = invite.uri().unwrap(),
        via = invite.headers.get_str(&HeaderName::Via).unwrap(),
        from = invite.headers.get_str(&HeaderName::From).unwrap(),
        to = response.headers.get_str(&HeaderName::To).unwrap(),
        call_id = invite.call_id().unwrap(),
        seq = invite.cseq().unwrap().seq,
    )
}

/// The INVITE, authenticated after its 407 (which is acknowledged); returns its text.
pub(crate) async fn authenticated_invite(alice: &mut Phone, to: &str) -> String {
    let branch = format!("z9hG4bK-call{}", unique());
    let first = invite(alice, to, &branch, 1, None);
    let challenge = alice.transact(&first).await;
    assert_eq!(challenge.status(), Some(407));
    alice.send(&ack_for(&first, &challenge)).await;
    let creds = alice.credentials(&challenge, "INVITE", &format!("sip:{to}"));
    let second = invite(alice, to, &format!("{branch}-2"), 2, Some(&creds));
    alice.send(&second).await;
    second
}

/// The response of a UAS to `request`: Record-Route copied (§12.1.1), our Contact.
fn uas_response(request: &Message, code: u16, reason: &str, contact: &str) -> String {
    uas_response_tagged(request, code, reason, contact, "callee")
}

/// [`uas_response`] with this To tag.
pub(crate) fn uas_response_tagged(
    request: &Message,
    code: u16,
    reason: &str,
    contact: &str,
    tag: &str,
) -> String {
    let mut r = request.response(code, reason, Some(tag));
    for rr in request.headers.all(&HeaderName::RecordRoute) {
        r.headers.push(HeaderName::RecordRoute, rr.value.clone());
    }
    r.headers.push(HeaderName::Contact, format!("<{contact}>"));
    r.set_content_length();
    String::from_utf8(r.to_bytes().to_vec()).unwrap()
}

/// The next response other than `100 Trying` (which the INVITE transaction may send).
pub(crate) async fn next_response(phone: &mut Phone) -> Message {
    loop {
        let m = phone.recv_any(ANSWER).await.expect("a response");
        if !m.is_request() && m.status() != Some(100) {
            return m;
        }
    }
}

#[tokio::test]
async fn a_call_is_record_routed_and_the_dialog_follows_the_route() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in(&server, "alice@example.com", "secret").await;
    let mut bob = signed_in(&server, "bob@example.com", "hunter2").await;

    let sent = authenticated_invite(&mut alice, "bob@example.com").await;
    let at_bob = bob.next_request(ANSWER).await.expect("the INVITE arrives");
    assert_eq!(at_bob.method(), Some(&Method::Invite));
    assert_eq!(at_bob.uri().unwrap().to_string(), bob.contact());
    let rr = at_bob.name_addrs(&HeaderName::RecordRoute).unwrap();
    assert_eq!(rr.len(), 1);
    let ours = format!("sip:{};lr", server.udp());
    assert_eq!(rr[0].uri.to_string(), ours);
    assert!(at_bob
        .headers
        .get(&HeaderName::ProxyAuthorization)
        .is_none());

    bob.send(&uas_response(&at_bob, 180, "Ringing", &bob.contact()))
        .await;
    let ringing = next_response(&mut alice).await;
    assert_eq!(ringing.status(), Some(180));
    assert_eq!(ringing.vias().count(), 1, "our Via is removed");
    bob.send(&uas_response(&at_bob, 200, "OK", &bob.contact()))
        .await;
    let ok = next_response(&mut alice).await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(
        ok.name_addrs(&HeaderName::RecordRoute).unwrap()[0]
            .uri
            .to_string(),
        ours
    );

    // The ACK to the 2xx: Request-URI Bob's contact, along our route.
    let invite = parse(sent.as_bytes());
    let dialog = |method: &str, uri: &str, from: &str, to: &str, seq: u32, via: &str| {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch=z9hG4bK-d{n};rport\r\n\
             Max-Forwards: 70\r\nRoute: <{ours}>\r\nFrom: {from}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: {seq} {method}\r\nContent-Length: 0\r\n\r\n",
            n = unique(),
            call_id = invite.call_id().unwrap(),
        )
    };
    let (alice_side, bob_side) = (
        invite
            .headers
            .get_str(&HeaderName::From)
            .unwrap()
            .to_owned(),
        ok.headers.get_str(&HeaderName::To).unwrap().to_owned(),
    );
    let ack = dialog(
        "ACK",
        &bob.contact(),
        &alice_side,
        &bob_side,
        2,
        &alice.local_addr().to_string(),
    );
    alice.send(&ack).await;
    let at_bob = bob.next_request(ANSWER).await.expect("the ACK arrives");
    assert_eq!(at_bob.method(), Some(&Method::Ack));

    // Bob hangs up: the BYE goes to Alice's contact along the route.
    let bye = dialog(
        "BYE",
        &alice.contact(),
        &bob_side,
        &alice_side,
        1,
        &bob.local_addr().to_string(),
    );
    bob.send(&bye).await;
    let at_alice = alice.next_request(ANSWER).await.expect("the BYE arrives");
    assert_eq!(at_alice.method(), Some(&Method::Bye));
    assert!(
        at_alice.headers.get(&HeaderName::Route).is_none(),
        "our Route is removed"
    );
    alice.answer(&at_alice, 200).await;
    assert_eq!(next_response(&mut bob).await.status(), Some(200));
    server.stop().await;
}

#[tokio::test]
async fn a_cancel_ends_the_invite_with_487() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in(&server, "alice@example.com", "secret").await;
    let mut bob = signed_in(&server, "bob@example.com", "hunter2").await;
    let sent = authenticated_invite(&mut alice, "bob@example.com").await;
    let at_bob = bob.next_request(ANSWER).await.expect("the INVITE arrives");
    bob.send(&uas_response(&at_bob, 180, "Ringing", &bob.contact()))
        .await;
    assert_eq!(next_response(&mut alice).await.status(), Some(180));

    alice.send(&cancel_of(&sent)).await;

    // Bob's phone gets the CANCEL of the INVITE it rings for, and ends both.
    let cancel = next_request_of(&mut bob, Method::Cancel).await;
    assert_eq!(cancel.top_via().unwrap(), at_bob.top_via().unwrap());
    bob.answer(&cancel, 200).await;
    bob.send(&uas_response(
        &at_bob,
        487,
        "Request Terminated",
        &bob.contact(),
    ))
    .await;
    let mut codes = Vec::new();
    while codes.len() < 2 {
        let r = next_response(&mut alice).await;
        codes.push((r.cseq().unwrap().method.to_string(), r.status().unwrap()));
    }
    codes.sort();
    assert_eq!(codes, [("CANCEL".into(), 200), ("INVITE".into(), 487)]);
    server.stop().await;
}

/// The CANCEL of the INVITE `invite_text` (RFC 3261 §9.1).
pub(crate) fn cancel_of(invite_text: &str) -> String {
    let invite = parse(invite_text.as_bytes());
    format!(
        "CANCEL {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
         Call-ID: {call_id}\r\nCSeq: {seq} CANCEL\r\nContent-Length: 0\r\n\r\n",
        uri = invite.uri().unwrap(),
        via = invite.headers.get_str(&HeaderName::Via).unwrap(),
        from = invite.headers.get_str(&HeaderName::From).unwrap(),
        to = invite.headers.get_str(&HeaderName::To).unwrap(),
        call_id = invite.call_id().unwrap(),
        seq = invite.cseq().unwrap().seq,
    )
}

/// The next request with this method (retransmissions of earlier requests are skipped).
pub(crate) async fn next_request_of(phone: &mut Phone, method: Method) -> Message {
    loop {
        let m = phone
            .next_request(ANSWER)
            .await
            .unwrap_or_else(|| panic!("no {method} arrived"));
        if m.method() == Some(&method) {
            return m;
        }
    }
}

#[tokio::test]
async fn an_invite_to_a_user_with_no_contact_is_480() {
    let server = TestServer::start(setup()).await;
    let mut alice = signed_in(&server, "alice@example.com", "secret").await;
    authenticated_invite(&mut alice, "bob@example.com").await;
    assert_eq!(next_response(&mut alice).await.status(), Some(480));
    server.stop().await;
}
