//! A call to a user signed in on two phones rings both (parallel forking, RFC 3261 §16.7).
//! When the caller hangs up before anyone answers, both phones get a CANCEL of the INVITE
//! they ring for (same branch, §9.1), answer it `200` and their INVITE `487`; the caller gets
//! `200` for its CANCEL and, once both phones are done, `487` for its INVITE (§16.10). When
//! one phone answers, the caller gets its `200` and the other phone a CANCEL (§16.7 step 10);
//! a retransmission of the `200` (the phone did not hear the ACK yet) still reaches the
//! caller, forwarded without a transaction (§16.7 step 5, §13.3.1.4). When both phones answer
//! at once, the caller gets both `200`s (two dialogs; the second goes up without a
//! transaction, §16.7 step 9). Asserted: what each phone and the caller receive, and the
//! header fields that make the CANCELs match.

use crate::calls::{
    ack_for, authenticated_invite, cancel_of, next_request_of, next_response, setup, signed_in,
    uas_response_tagged,
};
use crate::harness::{TestServer, SILENCE};
use crate::phone::Phone;
use parley_sip::{HeaderName, Message, Method};

/// Alice, and Bob signed in on two phones.
async fn alice_and_two_bobs(server: &TestServer) -> (Phone, [Phone; 2]) {
    let alice = signed_in(server, "alice@example.com", "secret").await;
    let desk = signed_in(server, "bob@example.com", "hunter2").await;
    let mobile = signed_in(server, "bob@example.com", "hunter2").await;
    (alice, [desk, mobile])
}

/// Each phone's copy of the INVITE, after it answered `180`; and Alice heard both.
async fn ring_both(alice: &mut Phone, bobs: &mut [Phone; 2]) -> [Message; 2] {
    let mut invites = Vec::new();
    for (i, bob) in bobs.iter_mut().enumerate() {
        let invite = next_request_of(bob, Method::Invite).await;
        assert_eq!(invite.uri().unwrap().to_string(), bob.contact());
        let ringing = uas_response_tagged(&invite, 180, "Ringing", &bob.contact(), tag(i));
        bob.send(&ringing).await;
        invites.push(invite);
    }
    for _ in 0..2 {
        assert_eq!(next_response(alice).await.status(), Some(180));
    }
    [invites.remove(0), invites.remove(0)]
}

fn tag(phone: usize) -> &'static str {
    ["desk", "mobile"][phone]
}

/// The phone gets the CANCEL of `invite` and ends both: `200` to the CANCEL, `487` to the
/// INVITE, whose ACK comes back on the INVITE's branch.
async fn cancelled(bob: &mut Phone, invite: &Message, phone: usize) {
    let cancel = next_request_of(bob, Method::Cancel).await;
    assert_eq!(cancel.uri(), invite.uri());
    assert_eq!(cancel.headers.count(&HeaderName::Via), 1);
    assert_eq!(cancel.top_via().unwrap(), invite.top_via().unwrap());
    assert_eq!(cancel.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(cancel.from_header().unwrap(), invite.from_header().unwrap());
    assert_eq!(cancel.to_header().unwrap(), invite.to_header().unwrap());
    assert_eq!(cancel.cseq().unwrap().seq, invite.cseq().unwrap().seq);
    assert_eq!(cancel.cseq().unwrap().method, Method::Cancel);
    bob.answer(&cancel, 200).await;
    let contact = bob.contact();
    let terminated = uas_response_tagged(invite, 487, "Request Terminated", &contact, tag(phone));
    bob.send(&terminated).await;
    let ack = next_request_of(bob, Method::Ack).await;
    assert_eq!(
        ack.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch()
    );
}

#[tokio::test]
async fn a_cancel_reaches_every_ringing_phone_and_the_caller_gets_487() {
    let server = TestServer::start(setup()).await;
    let (mut alice, mut bobs) = alice_and_two_bobs(&server).await;
    let sent = authenticated_invite(&mut alice, "bob@example.com").await;
    let invites = ring_both(&mut alice, &mut bobs).await;

    alice.send(&cancel_of(&sent)).await;
    let ok = next_response(&mut alice).await;
    assert_eq!(
        (ok.status(), ok.cseq().unwrap().method),
        (Some(200), Method::Cancel),
        "the CANCEL is answered at once"
    );
    for (i, (bob, invite)) in bobs.iter_mut().zip(&invites).enumerate() {
        cancelled(bob, invite, i).await;
    }
    let terminated = next_response(&mut alice).await;
    assert_eq!(
        (terminated.status(), terminated.cseq().unwrap().method),
        (Some(487), Method::Invite)
    );
    alice.send(&ack_for(&sent, &terminated)).await;
    server.stop().await;
}

#[tokio::test]
async fn the_answer_cancels_the_other_phone_and_its_retransmission_reaches_the_caller() {
    let server = TestServer::start(setup()).await;
    let (mut alice, mut bobs) = alice_and_two_bobs(&server).await;
    authenticated_invite(&mut alice, "bob@example.com").await;
    let invites = ring_both(&mut alice, &mut bobs).await;

    // The desk phone answers.
    let [desk, mobile] = &mut bobs;
    let answer = uas_response_tagged(&invites[0], 200, "OK", &desk.contact(), tag(0));
    desk.send(&answer).await;
    let ok = next_response(&mut alice).await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.to_header().unwrap().tag(), Some(tag(0)));
    assert_eq!(ok.vias().count(), 1, "our Via is removed");

    // The mobile stops ringing.
    cancelled(mobile, &invites[1], 1).await;

    // The desk phone did not get the ACK yet and sends its 200 again: the caller gets it,
    // although the proxy's transactions for it have ended.
    desk.send(&answer).await;
    let again = next_response(&mut alice).await;
    assert_eq!(again.status(), Some(200));
    assert_eq!(again.to_header().unwrap().tag(), Some(tag(0)));
    assert_eq!(again.cseq().unwrap(), ok.cseq().unwrap());
    assert_eq!(again.vias().count(), 1, "our Via is removed");
    assert_eq!(again.top_via().unwrap(), ok.top_via().unwrap());
    assert!(alice.recv_any(SILENCE).await.is_none(), "once");
    server.stop().await;
}

#[tokio::test]
async fn when_both_phones_answer_the_caller_gets_both_answers() {
    let server = TestServer::start(setup()).await;
    let (mut alice, mut bobs) = alice_and_two_bobs(&server).await;
    authenticated_invite(&mut alice, "bob@example.com").await;
    let invites = ring_both(&mut alice, &mut bobs).await;
    for (i, (bob, invite)) in bobs.iter_mut().zip(&invites).enumerate() {
        let answer = uas_response_tagged(invite, 200, "OK", &bob.contact(), tag(i));
        bob.send(&answer).await;
    }
    let mut tags = Vec::new();
    for _ in 0..2 {
        let ok = next_response(&mut alice).await;
        assert_eq!(ok.status(), Some(200));
        assert_eq!(ok.vias().count(), 1, "our Via is removed");
        tags.push(ok.to_header().unwrap().tag().unwrap().to_owned());
    }
    tags.sort();
    assert_eq!(tags, ["desk", "mobile"]);
    server.stop().await;
}
