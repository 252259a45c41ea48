//! A watcher that answers NOTIFY with `481`, or does not answer at all (Timer F), is removed
//! at once with no further NOTIFY; a `500` keeps the subscription.

use super::*;

#[test]
fn notify_481_removes() {
    let clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 481);
    assert_eq!(
        drain(&mut sub),
        [("REMOVE".into(), State::Terminated, false)]
    );
    assert_eq!(sub.state(), State::Terminated);
    assert_eq!(sub.poll_timeout(), None);
    sub.state_changed(clock.now());
    assert!(drain(&mut sub).is_empty());
}

#[test]
fn notify_timeout_removes_and_500_keeps() {
    let mut clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 500);
    assert!(drain(&mut sub).is_empty());
    assert_eq!(sub.state(), State::Active);
    clock.advance(Duration::from_secs(5));
    sub.state_changed(clock.now());
    assert_eq!(drain(&mut sub).len(), 1);
    clock.advance(Duration::from_secs(32));
    sub.handle_notify_timeout(clock.now());
    assert_eq!(
        drain(&mut sub),
        [("REMOVE".into(), State::Terminated, false)]
    );
}
