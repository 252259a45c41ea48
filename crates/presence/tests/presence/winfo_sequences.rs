//! Alice watches her own watcher list (`presence.winfo`). The first NOTIFY carries the full
//! state at version 0; later ones carry only the watchers that changed, with versions 1, 2, …;
//! nothing changed means no NOTIFY. Her client merges them into the same table the notifier
//! holds, discards stale versions and asks for a refresh after a gap (RFC 3858 §4).

use parley_presence::winfo::{
    Applied, DocState, Watcher, WatcherEvent, WatcherInfoView, WatcherList, WatcherStatus,
    WinfoNotifier,
};
use parley_presence::WatcherInfo;

const RFC3858_EXAMPLE: &str = r#"<?xml version="1.0"?>
<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"
             version="0" state="full">
  <watcher-list resource="sip:professor@example.net" package="presence">
    <watcher status="active"
             id="8ajksjda7s"
             duration-subscribed="509"
             event="approved" >sip:userA@example.net</watcher>
    <watcher status="pending"
             id="hh8juja87s997-ass7"
             display-name="Mr. Subscriber"
             event="subscribe">sip:userB@example.org</watcher>
  </watcher-list>
</watcherinfo>"#;

#[test]
fn rfc3858_example_round_trips() {
    let doc = WatcherInfo::parse(RFC3858_EXAMPLE.as_bytes()).unwrap();
    assert_eq!((doc.version, doc.state), (0, DocState::Full));
    let l = &doc.lists[0];
    assert_eq!(
        (l.resource.as_str(), l.package.as_str()),
        ("sip:professor@example.net", "presence")
    );
    assert_eq!(l.watchers[0].duration_subscribed, Some(509));
    assert_eq!(
        l.watchers[1].display_name.as_deref(),
        Some("Mr. Subscriber")
    );
    assert_eq!(
        (l.watchers[1].status, l.watchers[1].event),
        (WatcherStatus::Pending, WatcherEvent::Subscribe)
    );
    let printed = doc.to_xml();
    assert_eq!(WatcherInfo::parse(printed.as_bytes()).unwrap(), doc);
    assert!(printed.contains(
        "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"0\" state=\"full\">"
    ));
}

#[test]
fn bad_values_are_named() {
    let bad = RFC3858_EXAMPLE.replace("status=\"active\"", "status=\"bored\"");
    assert_eq!(
        WatcherInfo::parse(bad.as_bytes()).unwrap_err().to_string(),
        "invalid watcher status `bored`"
    );
    let bad = RFC3858_EXAMPLE.replace(" version=\"0\"", "");
    assert_eq!(
        WatcherInfo::parse(bad.as_bytes()).unwrap_err().to_string(),
        "<watcherinfo> lacks the required `version` attribute"
    );
}

fn watcher(id: &str, who: &str, status: WatcherStatus, event: WatcherEvent) -> Watcher {
    Watcher {
        id: id.into(),
        uri: format!("sip:{who}@example.test"),
        status,
        event,
        display_name: None,
        expiration: None,
        duration_subscribed: None,
        lang: None,
    }
}

fn list(watchers: Vec<Watcher>) -> Vec<WatcherList> {
    vec![WatcherList {
        resource: "sip:alice@example.test".into(),
        package: "presence".into(),
        watchers,
    }]
}

#[test]
fn full_then_partial() {
    use WatcherEvent::*;
    use WatcherStatus::*;
    let mut notifier = WinfoNotifier::new();
    let mut view = WatcherInfoView::new();
    let mut deliver = |doc: WatcherInfo| {
        // Through the wire format, as the client gets it.
        let doc = WatcherInfo::parse(doc.to_xml().as_bytes()).unwrap();
        (view.apply(&doc), doc)
    };

    // Bob subscribes and waits for confirmation: full state, version 0.
    let mut now = list(vec![watcher("w1", "bob", Pending, Subscribe)]);
    let doc = notifier.notify(&now).unwrap();
    assert_eq!((doc.version, doc.state), (0, DocState::Full));
    assert_eq!(deliver(doc).0, Applied::Processed);

    // Nothing changed: no NOTIFY (the clock moving expiration/duration does not count).
    now[0].watchers[0].duration_subscribed = Some(30);
    assert!(notifier.notify(&now).is_none());

    // Carol subscribes, Alice approves Bob: a partial document with both, version 1.
    now = list(vec![
        watcher("w1", "bob", Active, Approved),
        watcher("w2", "carol", Pending, Subscribe),
    ]);
    let (applied, doc) = deliver(notifier.notify(&now).unwrap());
    assert_eq!(
        (applied, doc.version, doc.state, doc.lists[0].watchers.len()),
        (Applied::Processed, 1, DocState::Partial, 2)
    );

    // Carol is rejected and reported terminated; then dropped: no second report.
    now = list(vec![
        watcher("w1", "bob", Active, Approved),
        watcher("w2", "carol", Terminated, Rejected),
    ]);
    let (_, doc) = deliver(notifier.notify(&now).unwrap());
    assert_eq!(
        doc.lists[0].watchers,
        [watcher("w2", "carol", Terminated, Rejected)]
    );
    now = list(vec![watcher("w1", "bob", Active, Approved)]);
    assert!(notifier.notify(&now).is_none());

    // Bob's subscription vanishes without a report: terminated/timeout.
    let (_, doc) = deliver(notifier.notify(&list(vec![])).unwrap());
    assert_eq!(doc.version, 3);
    assert_eq!(
        doc.lists[0].watchers,
        [watcher("w1", "bob", Terminated, Timeout)]
    );
    assert_eq!(view.version(), Some(3));
    assert_eq!(view.watchers("sip:alice@example.test").count(), 0);

    // A refresh SUBSCRIBE: full state again, versions keep counting.
    let doc = notifier.full(&list(vec![watcher("w3", "dave", Active, Approved)]));
    assert_eq!((doc.version, doc.state), (4, DocState::Full));
}

#[test]
fn subscriber_version_rules() {
    let mut view = WatcherInfoView::new();
    let doc = |version, state| WatcherInfo {
        version,
        state,
        lists: list(vec![watcher(
            "w1",
            "bob",
            WatcherStatus::Active,
            WatcherEvent::Approved,
        )]),
        extensions: vec![],
    };
    assert_eq!(
        view.apply(&doc(5, DocState::Full)),
        Applied::Processed,
        "first document sets the version"
    );
    assert_eq!(view.apply(&doc(6, DocState::Partial)), Applied::Processed);
    assert_eq!(view.apply(&doc(6, DocState::Partial)), Applied::Discarded);
    assert_eq!(view.apply(&doc(4, DocState::Partial)), Applied::Discarded);
    assert_eq!(
        view.apply(&doc(9, DocState::Partial)),
        Applied::ProcessedRefreshNeeded
    );
    assert_eq!(view.version(), Some(9));
    assert_eq!(view.watchers("sip:alice@example.test").count(), 1);
}

/// A NOTIFY that may have been lost, or a restart that forgot what was sent: the next document
/// is full, and its version continues the sequence, so the subscriber's table is whole again.
#[test]
fn after_a_loss_or_a_restart_the_next_document_is_full() {
    use WatcherEvent::*;
    use WatcherStatus::*;
    let mut notifier = WinfoNotifier::new();
    let now = list(vec![watcher("w1", "bob", Pending, Subscribe)]);
    assert_eq!(notifier.notify(&now).unwrap().version, 0);
    assert!(!notifier.has_changes(&now));

    notifier.forget_sent();
    let later = list(vec![
        watcher("w1", "bob", Active, Approved),
        watcher("w2", "carol", Pending, Subscribe),
    ]);
    assert!(notifier.has_changes(&later));
    let doc = notifier.notify(&later).unwrap();
    assert_eq!((doc.version, doc.state), (1, DocState::Full));
    assert_eq!(doc.lists[0].watchers.len(), 2);

    let mut resumed = WinfoNotifier::resume(7);
    assert!(!resumed.has_sent());
    let doc = resumed.notify(&later).unwrap();
    assert_eq!((doc.version, doc.state), (7, DocState::Full));
    assert!(resumed.has_sent());
}
