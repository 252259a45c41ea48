//! A watcher subscribes: it gets `200` with the granted Expires and at once a NOTIFY whose
//! Subscription-State is `active;expires=N`, sent in the dialog (To tag, Route, CSeq).
//! A refresh answers `200` and notifies again with the new expiry; `Expires: 0` answers
//! `200` and sends a final `terminated` NOTIFY, after which the subscription is removed.
//! Too short an Expires gets `423` with Min-Expires; too long is clamped.

use super::*;
use parley_sip::subscription::Authorization;
use parley_sip::HeaderName;

#[test]
fn subscribe_gets_200_and_immediate_notify() {
    let clock = VirtualClock::new();
    let (mut sub, ok) = accept(&clock, Some(600), Authorization::Allow);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.expires().unwrap(), Some(600));
    assert_eq!(ok.to_header().unwrap().tag(), Some("n1"));
    let mut action = sub.poll_action().unwrap();
    let NotifierAction::SendNotify {
        request, with_body, ..
    } = &mut action
    else {
        panic!("expected NOTIFY")
    };
    assert!(*with_body);
    assert_eq!(request.uri().unwrap().to_string(), "sip:alice@192.0.2.10");
    assert_eq!(
        request.headers.get_str(&HeaderName::Event),
        Some("presence")
    );
    assert_eq!(
        request.headers.get_str(&HeaderName::SubscriptionState),
        Some("active;expires=600")
    );
    assert_eq!(request.to_header().unwrap().tag(), Some("w1"));
    assert_eq!(request.from_header().unwrap().tag(), Some("n1"));
    assert!(sub.poll_action().is_none());
}

#[test]
fn refresh_renews_and_notifies() {
    let mut clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 200);
    clock.advance(Duration::from_secs(500));
    let resp = sub.handle_subscribe(
        clock.now(),
        unix(&clock),
        &subscribe(Some(600), 2, Some("n1")),
        &config(),
    );
    assert_eq!(resp.status(), Some(200));
    assert_eq!(resp.expires().unwrap(), Some(600));
    // A target refresh: the 200 names the notifier's Contact again (RFC 3265 §7.1).
    assert_eq!(
        resp.headers.get_str(&HeaderName::Contact),
        Some(format!("<{}>", server_contact()).as_str())
    );
    assert_eq!(
        drain(&mut sub),
        [("active;expires=600".into(), State::Active, true)]
    );
    // An old CSeq is out of order: 500 (RFC 3261 §12.2.2).
    let old = sub.handle_subscribe(
        clock.now(),
        unix(&clock),
        &subscribe(Some(600), 2, Some("n1")),
        &config(),
    );
    assert_eq!(old.status(), Some(500));
}

#[test]
fn unsubscribe_sends_final_notify_then_removes() {
    let clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 200);
    let resp = sub.handle_subscribe(
        clock.now(),
        unix(&clock),
        &subscribe(Some(0), 2, Some("n1")),
        &config(),
    );
    assert_eq!(resp.status(), Some(200));
    assert_eq!(
        resp.headers.get_str(&HeaderName::Contact),
        Some(format!("<{}>", server_contact()).as_str())
    );
    assert_eq!(
        drain(&mut sub),
        [("terminated;reason=timeout".into(), State::Terminated, true)]
    );
    sub.handle_notify_response(clock.now(), 200);
    assert_eq!(drain(&mut sub)[0].0, "REMOVE");
    assert_eq!(sub.poll_timeout(), None);
}

#[test]
fn too_brief_gets_423_and_too_long_is_clamped() {
    let clock = VirtualClock::new();
    let err = Subscription::accept(
        clock.now(),
        unix(&clock),
        &subscribe(Some(10), 1, None),
        &config(),
        "n1",
        server_contact(),
        false,
        Authorization::Allow,
    )
    .unwrap_err();
    assert_eq!(err.status(), Some(423));
    assert_eq!(err.min_expires().unwrap(), Some(60));
    let (mut sub, ok) = accept(&clock, Some(86_400), Authorization::Allow);
    assert_eq!(ok.expires().unwrap(), Some(3600));
    assert_eq!(drain(&mut sub)[0].0, "active;expires=3600");
}

#[test]
fn fetch_with_expires_zero() {
    let clock = VirtualClock::new();
    let (mut sub, ok) = accept(&clock, Some(0), Authorization::Allow);
    assert_eq!(ok.expires().unwrap(), Some(0));
    assert_eq!(
        drain(&mut sub),
        [("terminated;reason=timeout".into(), State::Terminated, true)]
    );
}
