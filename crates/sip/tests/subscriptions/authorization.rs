//! With a `confirm` policy a new watcher is `pending`: its first NOTIFY says
//! `pending;expires=N` with no presence document. Once the user allows it, a NOTIFY with
//! `active` and the document follows; a refusal ends it with `terminated;reason=rejected`
//! and no document.

use super::*;

#[test]
fn pending_then_active() {
    let mut clock = VirtualClock::new();
    let (mut sub, ok) = accept(&clock, Some(600), Authorization::Pending);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(
        drain(&mut sub),
        [("pending;expires=600".into(), State::Pending, false)]
    );
    sub.handle_notify_response(clock.now(), 200);
    // Changes of the resource are not told to a pending watcher.
    sub.state_changed(clock.now());
    assert!(drain(&mut sub).is_empty());
    clock.advance(Duration::from_secs(10));
    sub.authorize(clock.now(), Authorization::Allow);
    assert_eq!(
        drain(&mut sub),
        [("active;expires=590".into(), State::Active, true)]
    );
}

#[test]
fn pending_then_rejected() {
    let clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Pending);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 200);
    sub.authorize(clock.now(), Authorization::Reject);
    assert_eq!(
        drain(&mut sub),
        [(
            "terminated;reason=rejected".into(),
            State::Terminated,
            false
        )]
    );
}
