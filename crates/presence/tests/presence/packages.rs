//! The server drives `presence` and `presence.winfo` through one trait: each names itself,
//! states its body type and expiry bounds, and builds the NOTIFY body for one subscription —
//! the document as the watcher may see it, nothing while pending, a closed document for a
//! politely blocked watcher, full-then-partial watcher info.

use parley_presence::winfo::{WatcherEvent, WatcherList, WatcherStatus, WinfoNotifier};
use parley_presence::{
    default_document, Decision, EventPackage, Presence, PresencePackage, Visibility, WatcherInfo,
    WinfoPackage,
};

#[test]
fn presence_package() {
    let pkg = PresencePackage::default();
    assert_eq!(
        (pkg.name(), pkg.body_types()),
        ("presence", &["application/pidf+xml"][..])
    );
    assert_eq!((pkg.expiry().default, pkg.expiry().min), (3600, 60));
    let doc = Presence::parse(&crate::fixture("linphone.xml")).unwrap();

    let body = pkg
        .notify_body(&doc, &mut Decision::Allow(Visibility::Full))
        .unwrap();
    assert_eq!(body.content_type, "application/pidf+xml");
    assert_eq!(Presence::parse(&body.bytes).unwrap(), doc);

    assert!(pkg.notify_body(&doc, &mut Decision::Pending).is_none());
    assert!(pkg
        .notify_body(&doc, &mut Decision::Deny { polite: false })
        .is_none());
    let polite = pkg
        .notify_body(&doc, &mut Decision::Deny { polite: true })
        .unwrap();
    assert_eq!(
        Presence::parse(&polite.bytes).unwrap(),
        default_document("sip:carol@example.test", false)
    );
}

#[test]
fn winfo_package() {
    let pkg = WinfoPackage::default();
    assert_eq!(
        (pkg.name(), pkg.body_types()),
        ("presence.winfo", &["application/watcherinfo+xml"][..])
    );
    let lists = vec![WatcherList {
        resource: "sip:alice@example.test".into(),
        package: "presence".into(),
        watchers: vec![parley_presence::winfo::Watcher {
            id: "w1".into(),
            uri: "sip:bob@example.test".into(),
            status: WatcherStatus::Pending,
            event: WatcherEvent::Subscribe,
            display_name: Some("Bob & Co".into()),
            expiration: Some(3600),
            duration_subscribed: Some(0),
            lang: Some("en".into()),
        }],
    }];
    let mut sub = WinfoNotifier::new();
    let body = pkg.notify_body(&lists, &mut sub).unwrap();
    let doc = WatcherInfo::parse(&body.bytes).unwrap();
    assert_eq!((doc.version, &doc.lists), (0, &lists));
    assert!(pkg.notify_body(&lists, &mut sub).is_none());
}
