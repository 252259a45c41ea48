//! 100 state changes in one second reach a watcher as a handful of NOTIFYs (one per
//! minimum interval, the last one sent after the burst carrying the latest state), and a
//! watcher slow to answer delays only its own NOTIFYs: another subscription keeps getting
//! its NOTIFYs on time.

use super::*;

#[test]
fn burst_is_coalesced() {
    let mut clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    assert_eq!(drain(&mut sub).len(), 1);
    sub.handle_notify_response(clock.now(), 200);
    let mut sent = 0;
    // Changes at 5 ms, 15 ms, ... 995 ms: all inside one second.
    clock.advance(Duration::from_millis(5));
    for i in 0..100 {
        if i > 0 {
            clock.advance(Duration::from_millis(10));
        }
        sub.state_changed(clock.now());
        if let Some(t) = sub.poll_timeout().filter(|&t| t <= clock.now()) {
            sub.handle_timeout(t);
        }
        let n = drain(&mut sub).len();
        sent += n;
        if n > 0 {
            sub.handle_notify_response(clock.now(), 200);
        }
    }
    // The change at the end of the burst is still owed: the next wake-up sends it.
    let wake = sub.poll_timeout().unwrap();
    assert!(wake <= clock.now() + Duration::from_secs(1));
    clock.advance_to(wake);
    sub.handle_timeout(clock.now());
    let last = drain(&mut sub);
    assert_eq!(last.len(), 1);
    assert!(last[0].2, "the coalesced NOTIFY carries the latest state");
    sent += 1;
    assert!((1..=3).contains(&sent), "{sent} NOTIFYs for 100 changes");
    sub.handle_notify_response(clock.now(), 200);
    // Nothing more is owed.
    assert_eq!(sub.poll_timeout(), Some(sub.expires_at()));
}

#[test]
fn in_flight_notify_blocks_only_its_own_subscription() {
    let mut clock = VirtualClock::new();
    let (mut slow, _) = accept(&clock, Some(600), Authorization::Allow);
    let (mut fast, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut slow);
    drain(&mut fast);
    fast.handle_notify_response(clock.now(), 200);
    // `slow` never answers its first NOTIFY.
    for _ in 0..5 {
        clock.advance(Duration::from_secs(2));
        slow.state_changed(clock.now());
        fast.state_changed(clock.now());
        assert!(
            drain(&mut slow).is_empty(),
            "no second NOTIFY while one is in flight"
        );
        assert_eq!(drain(&mut fast).len(), 1);
        fast.handle_notify_response(clock.now(), 200);
    }
    assert!(slow.notify_in_flight());
    // Its answer arrives: the latest state goes out at once (the interval has passed).
    slow.handle_notify_response(clock.now(), 200);
    assert_eq!(drain(&mut slow).len(), 1);
}
