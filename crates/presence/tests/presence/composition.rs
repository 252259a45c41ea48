//! Alice is signed in on three clients at once — pjsua (busy), Linphone (in a meeting) and
//! baresip (away) — and her watchers get one document: every client's service, no duplicate
//! when a client re-publishes the same tuple, and one person element chosen by the documented
//! rule (newest timestamp: the element's own, else the publication time). With nothing
//! published she is `open` while registered and `closed` otherwise.

use crate::fixture;
use parley_presence::details::Activity;
use parley_presence::{
    compose, default_document, presence_for, Basic, Presence, PublicationLimits, Publications,
    PublishRequest, SeededEntityTags, Source, Timestamp,
};

const ALICE: &str = "sip:alice@example.test";

fn parse(name: &str) -> Presence {
    Presence::parse(&fixture(name)).unwrap()
}

fn at(text: &str) -> i64 {
    Timestamp::parse(text).unwrap().unix_millis()
}

fn activity(doc: &Presence) -> Vec<Activity> {
    doc.persons[0]
        .details
        .activities
        .iter()
        .flat_map(|a| a.known().copied())
        .collect()
}

#[test]
fn three_clients_one_document() {
    let (pjsua, linphone, baresip) = (
        parse("pjsua-busy.xml"),
        parse("linphone.xml"),
        parse("baresip.xml"),
    );
    let sources = [
        Source {
            document: &pjsua,
            modified_at: at("2024-05-02T10:15:00Z"),
            sequence: 1,
        },
        Source {
            document: &linphone,
            modified_at: at("2024-05-02T10:21:00Z"),
            sequence: 2,
        },
        Source {
            document: &baresip,
            modified_at: at("2024-05-02T10:25:00Z"),
            sequence: 3,
        },
    ];
    let doc = compose(ALICE, &sources);
    assert_eq!(doc.entity.as_deref(), Some(ALICE));
    // Every service, newest publication first.
    let ids: Vec<&str> = doc.tuples.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["t4109", "ob8u4a", "pj2lp7qEpmPRn7Mb"]);
    // One person: baresip's has no timestamp, so its publication time (10:25) counts, newer than
    // Linphone's person timestamp (10:20:05) and pjsua's publication (10:15).
    assert_eq!(doc.persons.len(), 1);
    assert_eq!(doc.persons[0].id, "p4159");
    assert_eq!(activity(&doc), [Activity::Away]);
    // The composed document is a valid document itself.
    assert_eq!(Presence::parse(doc.to_xml().as_bytes()).unwrap(), doc);
}

#[test]
fn element_timestamp_beats_publication_time() {
    let (pjsua, linphone) = (parse("pjsua-busy.xml"), parse("linphone.xml"));
    // Linphone published first by the server's clock, but its person says 10:20:05, after the
    // pjsua publication at 10:16: Linphone's person (and its note) is shown, with its activity.
    let sources = [
        Source {
            document: &linphone,
            modified_at: at("2024-05-02T10:15:00Z"),
            sequence: 1,
        },
        Source {
            document: &pjsua,
            modified_at: at("2024-05-02T10:16:00Z"),
            sequence: 2,
        },
    ];
    let doc = compose(ALICE, &sources);
    assert_eq!(doc.persons[0].id, "zqsr7i");
    assert_eq!(activity(&doc), [Activity::Meeting]);
    assert_eq!(
        doc.persons[0].notes[0].text,
        "In a meeting until 3 & then lunch"
    );
    // The services are still ordered by publication: pjsua's is newer.
    assert_eq!(doc.tuples[0].id, "pj2lp7qEpmPRn7Mb");
}

#[test]
fn same_tuple_republished_shows_once_newest_wins() {
    // pjsua lost its entity-tag (412) and published again from scratch: two publications with
    // the same tuple and person ids until the old one expires.
    let (online, busy) = (parse("pjsua-online.xml"), parse("pjsua-busy.xml"));
    let sources = [
        Source {
            document: &busy,
            modified_at: 2_000,
            sequence: 2,
        },
        Source {
            document: &online,
            modified_at: 1_000,
            sequence: 1,
        },
    ];
    let doc = compose(ALICE, &sources);
    assert_eq!(doc.tuples.len(), 1);
    assert_eq!(doc.tuples[0].notes[0].text, "Busy");
    assert_eq!(doc.persons.len(), 1);
    assert_eq!(activity(&doc), [Activity::Busy]);
    // Equal publication times: arrival order decides.
    let sources = [
        Source {
            document: &online,
            modified_at: 1_000,
            sequence: 5,
        },
        Source {
            document: &busy,
            modified_at: 1_000,
            sequence: 4,
        },
    ];
    assert_eq!(compose(ALICE, &sources).tuples[0].notes[0].text, "Online");
}

#[test]
fn devices_are_merged_by_id() {
    let blink = parse("blink.xml");
    let mut blink_newer = blink.clone();
    blink_newer.devices[0].notes[0].text = "Blink on laptop, lid closed".into();
    let rfc = parse("rfc4479-7.xml");
    let sources = [
        Source {
            document: &blink,
            modified_at: 1,
            sequence: 1,
        },
        Source {
            document: &rfc,
            modified_at: 2,
            sequence: 2,
        },
        Source {
            document: &blink_newer,
            modified_at: 3,
            sequence: 3,
        },
    ];
    let doc = compose(ALICE, &sources);
    let ids: Vec<&str> = doc.devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["DID-0c2c7a3e", "pc122"]);
    assert_eq!(doc.devices[0].notes[0].text, "Blink on laptop, lid closed");
}

#[test]
fn defaults_without_publications() {
    let pubs = Publications::new(PublicationLimits::default());
    let registered = presence_for(ALICE, &pubs, true);
    assert_eq!(registered, default_document(ALICE, true));
    assert_eq!(registered.entity.as_deref(), Some(ALICE));
    assert_eq!(registered.tuples[0].status.basic, Some(Basic::Open));
    let unknown = presence_for(ALICE, &pubs, false);
    assert_eq!(unknown.tuples[0].status.basic, Some(Basic::Closed));
    assert!(!unknown.is_open());
}

#[test]
fn publications_compose_through_the_store() {
    let mut pubs = Publications::new(PublicationLimits::default());
    let mut tags = SeededEntityTags::new(1);
    for (t, name) in [(1_000, "pjsua-busy.xml"), (2_000, "baresip.xml")] {
        let req = PublishRequest {
            if_match: None,
            expires: None,
            body: Some(parse(name)),
        };
        pubs.handle_publish(t, req, &mut tags).unwrap();
    }
    // Registration does not matter once something is published.
    let doc = presence_for(ALICE, &pubs, false);
    assert_eq!(doc.tuples.len(), 2);
    assert_eq!(activity(&doc), [Activity::Away]);
}
