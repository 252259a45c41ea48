//! After a restart the server restores a subscription from its stored record (dialog
//! identifiers, route set, CSeq, contact, expiry) and its next NOTIFY continues the dialog
//! with the next CSeq and the remaining expiry; an expired record does not come back.

use super::*;
use parley_sip::dialog::Dialog;
use parley_sip::subscription::RestoreError;

#[test]
fn round_trip_continues_the_dialog() {
    let mut clock = VirtualClock::new();
    let (mut sub, _) = accept(&clock, Some(600), Authorization::Allow);
    drain(&mut sub);
    sub.handle_notify_response(clock.now(), 200);
    let record = sub.to_record();
    assert_eq!(record.dialog.local_seq, 1);
    assert_eq!(Dialog::from_record(&record.dialog).unwrap(), *sub.dialog());

    let mut later = VirtualClock::new();
    later.advance(Duration::from_secs(100));
    let now_unix = unix(&clock) + 100;
    let mut restored =
        Subscription::from_record(later.now(), now_unix, &record, Duration::from_secs(1)).unwrap();
    assert_eq!(restored.dialog(), sub.dialog());
    assert!(restored.poll_action().is_none(), "no NOTIFY on load");
    restored.state_changed(later.now());
    let Some(NotifierAction::SendNotify { request, .. }) = restored.poll_action() else {
        panic!("expected NOTIFY")
    };
    assert_eq!(request.cseq().unwrap().seq, 2);
    assert_eq!(
        request
            .headers
            .get_str(&parley_sip::HeaderName::SubscriptionState),
        Some("active;expires=500")
    );

    clock.advance(Duration::from_secs(700));
    assert_eq!(
        Subscription::from_record(clock.now(), unix(&clock), &record, Duration::from_secs(1))
            .unwrap_err(),
        RestoreError::Expired
    );
}
