//! A watcher that never refreshes: at the expiry instant the server sends a final NOTIFY
//! with `terminated;reason=timeout` and then forgets it. Each NOTIFY before that carries the
//! remaining seconds in `expires`.

use super::*;

#[test]
fn expiry_sends_timeout_and_removes() {
    let mut clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(120), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 200);
    clock.advance(Duration::from_secs(50));
    sub.state_changed(clock.now());
    assert_eq!(drain(&mut sub)[0].0, "active;expires=70");
    sub.handle_notify_response(clock.now(), 200);
    assert_eq!(sub.poll_timeout(), Some(clock.at(Duration::from_secs(120))));
    clock.advance_to(sub.poll_timeout().unwrap());
    sub.handle_timeout(clock.now());
    assert_eq!(
        drain(&mut sub),
        [("terminated;reason=timeout".into(), State::Terminated, true)]
    );
    sub.handle_notify_response(clock.now(), 200);
    assert_eq!(drain(&mut sub)[0].0, "REMOVE");
}
