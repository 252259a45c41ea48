use super::*;
use bytes::Bytes;
use parley_sip::Limits;

fn request(method: &str) -> Message {
    let text = format!(
        "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP caller;branch=z9hG4bK-1\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c\r\n\
         CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text), &Limits::default()).unwrap()
}

/// A response from downstream: our Via on top of the caller's.
fn response(code: u16, method: &str) -> Message {
    let text = format!(
        "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP us;branch=z9hG4bK-us\r\n\
         Via: SIP/2.0/UDP caller;branch=z9hG4bK-1\r\nFrom: <sip:a@example.com>;tag=1\r\n\
         To: <sip:bob@example.com>;tag=b\r\nCall-ID: c\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text), &Limits::default()).unwrap()
}

fn fork(method: &str, branches: usize) -> Fork {
    Fork::new(request(method), branches, Bytes::from_static(b"test"))
}

fn final_code(up: Option<Upstream>) -> Option<u16> {
    match up {
        Some(Upstream::Final(m)) => {
            assert_eq!(m.vias().count(), 1, "our Via is removed");
            m.status()
        }
        other => panic!("expected a final response, got {other:?}"),
    }
}

#[test]
fn a_2xx_goes_up_at_once_and_later_finals_do_not() {
    let mut f = fork("MESSAGE", 2);
    assert_eq!(
        final_code(f.on_response(1, response(200, "MESSAGE"))),
        Some(200)
    );
    assert!(f.is_answered() && !f.is_finished());
    assert_eq!(f.on_response(0, response(486, "MESSAGE")), None);
    assert!(f.is_finished());
}

#[test]
fn every_2xx_of_an_invite_goes_up() {
    let mut f = fork("INVITE", 2);
    assert_eq!(
        final_code(f.on_response(0, response(200, "INVITE"))),
        Some(200)
    );
    assert_eq!(
        final_code(f.on_response(1, response(200, "INVITE"))),
        Some(200)
    );
}

#[test]
fn provisionals_go_up_except_100() {
    let mut f = fork("INVITE", 1);
    assert_eq!(f.on_response(0, response(100, "INVITE")), None);
    let Some(Upstream::Provisional(p)) = f.on_response(0, response(180, "INVITE")) else {
        panic!("180 goes up")
    };
    assert_eq!(p.vias().count(), 1);
}

#[test]
fn the_best_final_goes_up_when_all_branches_are_done() {
    let mut f = fork("MESSAGE", 3);
    assert_eq!(f.on_response(0, response(500, "MESSAGE")), None);
    assert_eq!(f.on_timeout(1), None);
    assert_eq!(
        final_code(f.on_response(2, response(486, "MESSAGE"))),
        Some(408)
    );
    assert!(f.is_finished());
}

#[test]
fn a_6xx_ends_the_context_at_once() {
    let mut f = fork("INVITE", 2);
    assert_eq!(
        final_code(f.on_response(1, response(603, "INVITE"))),
        Some(603)
    );
    assert!(f.on_response(0, response(200, "INVITE")).is_some());
}

#[test]
fn failed_sends_count_as_their_status() {
    let mut f = fork("MESSAGE", 2);
    assert_eq!(f.fail(0, 480, "Temporarily Unavailable"), None);
    let up = f.fail(1, 503, "Service Unavailable");
    // Locally generated: the caller's Via only, and a 503 goes up as 500.
    assert_eq!(final_code(up), Some(480));
}

#[test]
fn giving_up_answers_once() {
    let mut f = fork("INVITE", 1);
    assert_eq!(final_code(f.give_up(487, "Request Terminated")), Some(487));
    assert_eq!(f.give_up(408, "Request Timeout"), None);
    assert_eq!(f.on_response(0, response(486, "INVITE")), None);
}

#[test]
fn a_cancel_cancels_every_pending_branch_once_and_487_goes_up_when_they_are_done() {
    let mut f = fork("INVITE", 3);
    assert_eq!(
        f.take_cancellable(),
        Vec::<usize>::new(),
        "nothing to cancel yet"
    );
    assert!(f.on_response(0, response(180, "INVITE")).is_some());
    assert_eq!(f.on_response(2, response(486, "INVITE")), None);
    assert_eq!(f.cancel(), None, "the caller waits for the branches");
    assert!(f.is_cancelled() && !f.is_answered());
    assert_eq!(f.take_cancellable(), [0, 1]);
    assert_eq!(f.take_cancellable(), Vec::<usize>::new(), "each once");
    assert_eq!(f.on_response(0, response(487, "INVITE")), None);
    assert_eq!(final_code(f.on_timeout(1)), Some(487));
    assert!(f.is_finished());
}

#[test]
fn a_2xx_after_the_cancel_still_goes_up() {
    let mut f = fork("INVITE", 2);
    assert_eq!(f.cancel(), None);
    assert_eq!(f.take_cancellable(), [0, 1]);
    assert_eq!(
        final_code(f.on_response(0, response(200, "INVITE"))),
        Some(200)
    );
    assert_eq!(f.on_response(1, response(487, "INVITE")), None);
    assert!(f.is_finished());
}

#[test]
fn after_a_final_response_the_other_invite_branches_are_cancelled() {
    let mut f = fork("INVITE", 3);
    assert_eq!(f.fail(2, 480, "Temporarily Unavailable"), None);
    assert_eq!(
        final_code(f.on_response(0, response(200, "INVITE"))),
        Some(200)
    );
    assert_eq!(f.take_cancellable(), [1]);
    let mut f = fork("INVITE", 2);
    assert_eq!(
        final_code(f.on_response(1, response(603, "INVITE"))),
        Some(603)
    );
    assert_eq!(f.take_cancellable(), [0]);
    // Other methods are never cancelled (RFC 3261 §9.1).
    let mut f = fork("MESSAGE", 2);
    assert!(f.on_response(0, response(200, "MESSAGE")).is_some());
    assert_eq!(f.cancel(), None);
    assert_eq!(f.take_cancellable(), Vec::<usize>::new());
}

#[test]
fn a_cancelled_context_that_times_out_answers_487() {
    let mut f = fork("INVITE", 1);
    assert_eq!(f.cancel(), None);
    assert_eq!(final_code(f.give_up(408, "Request Timeout")), Some(487));
}
