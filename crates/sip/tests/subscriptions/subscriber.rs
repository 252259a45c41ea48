//! The watcher's side: it sends SUBSCRIBE, accepts a NOTIFY that overtakes the 200
//! (RFC 6665 §4.1.2.4), refreshes `min(e/3, 300)` seconds before expiry inside the dialog,
//! and on `terminated;reason=probation;retry-after=N` is told to retry after N seconds.

use super::*;
use parley_sip::subscription::Reason;
use parley_sip::subscription::{RetryAdvice, Subscriber, SubscriberAction, SubscriberState};

fn notify(state: &str, cseq: u32) -> Message {
    parse(
        format!(
            "NOTIFY sip:alice@192.0.2.10 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKn{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:bob@example.test>;tag=n1\r\n\
             To: <sip:alice@example.test>;tag=w1\r\n\
             Call-ID: sub1@192.0.2.10\r\n\
             CSeq: {cseq} NOTIFY\r\n\
             Contact: <sip:pres@192.0.2.1>\r\n\
             Event: presence\r\n\
             Subscription-State: {state}\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
}

fn new_subscriber() -> Subscriber {
    Subscriber::new(
        Uri::parse("sip:bob@example.test").unwrap(),
        Uri::parse("sip:alice@example.test").unwrap(),
        "w1",
        "sub1@192.0.2.10",
        Uri::parse("sip:alice@192.0.2.10").unwrap(),
        "presence",
        600,
    )
}

#[test]
fn notify_before_200_then_refresh_timing() {
    let mut clock = VirtualClock::new();
    let mut s = new_subscriber();
    let Some(SubscriberAction::SendSubscribe(req)) = s.poll_action() else {
        panic!()
    };
    assert_eq!(req.expires().unwrap(), Some(600));
    assert_eq!(
        s.handle_notify(clock.now(), &notify("active;expires=600", 1)),
        200
    );
    assert_eq!(s.state(), SubscriberState::Active);
    assert_eq!(
        s.poll_action(),
        Some(SubscriberAction::StateChanged(SubscriberState::Active))
    );
    assert_eq!(s.dialog().unwrap().remote_tag, "n1");
    // The 200 arrives afterwards.
    s.handle_response(clock.now(), &req.response(200, "OK", Some("n1")));
    // Refresh 200 s before the end of 600 s.
    assert_eq!(s.refresh_at(), Some(clock.at(Duration::from_secs(400))));
    clock.advance_to(s.poll_timeout().unwrap());
    s.handle_timeout(clock.now());
    let Some(SubscriberAction::SendSubscribe(refresh)) = s.poll_action() else {
        panic!()
    };
    assert_eq!(refresh.cseq().unwrap().seq, 2);
    assert_eq!(refresh.uri().unwrap().to_string(), "sip:pres@192.0.2.1");
    assert_eq!(refresh.to_header().unwrap().tag(), Some("n1"));
    // An old NOTIFY CSeq is refused with 500.
    assert_eq!(
        s.handle_notify(clock.now(), &notify("active;expires=600", 1)),
        500
    );
}

#[test]
fn probation_advises_retry_after() {
    let clock = VirtualClock::new();
    let mut s = new_subscriber();
    s.poll_action();
    assert_eq!(
        s.handle_notify(
            clock.now(),
            &notify("terminated;reason=probation;retry-after=30", 1)
        ),
        200
    );
    assert_eq!(
        s.poll_action(),
        Some(SubscriberAction::Terminated {
            reason: Some(Reason::Probation),
            retry: RetryAdvice::After(Duration::from_secs(30)),
        })
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn unsubscribe_sends_expires_zero() {
    let clock = VirtualClock::new();
    let mut s = new_subscriber();
    s.poll_action();
    s.handle_notify(clock.now(), &notify("active;expires=600", 1));
    s.poll_action();
    s.unsubscribe(clock.now());
    let Some(SubscriberAction::SendSubscribe(req)) = s.poll_action() else {
        panic!()
    };
    assert_eq!(req.expires().unwrap(), Some(0));
    s.handle_notify(clock.now(), &notify("terminated;reason=timeout", 2));
    assert!(matches!(
        s.poll_action(),
        Some(SubscriberAction::Terminated {
            retry: RetryAdvice::Now,
            ..
        })
    ));
}

#[test]
fn no_notify_after_200_fails_at_timer_n() {
    let mut clock = VirtualClock::new();
    let mut s = new_subscriber();
    let Some(SubscriberAction::SendSubscribe(req)) = s.poll_action() else {
        panic!()
    };
    let mut ok = req.response(200, "OK", Some("n1"));
    ok.headers
        .push(parley_sip::HeaderName::Contact, "<sip:pres@192.0.2.1>");
    s.handle_response(clock.now(), &ok);
    assert_eq!(
        s.dialog().unwrap().remote_target.to_string(),
        "sip:pres@192.0.2.1"
    );
    assert_eq!(
        s.poll_timeout(),
        Some(clock.now() + parley_sip::subscription::TIMER_N)
    );
    clock.advance_to(s.poll_timeout().unwrap());
    s.handle_timeout(clock.now());
    assert!(matches!(
        s.poll_action(),
        Some(SubscriberAction::Terminated { .. })
    ));
    assert_eq!(s.state(), SubscriberState::Terminated);
}
