//! Documents from the RFCs and documents shaped like what real clients publish (pjsua, baresip,
//! Linphone, Blink) parse into typed models, print in the canonical form, and parse back to the
//! same model; the typed fields hold what each client meant.

use parley_presence::details::{Activity, InputState, Item, MoodValue, RelationshipValue};
use parley_presence::{Basic, Presence};

use crate::fixture;

/// parse → print → parse gives the same model, and printing is stable.
fn round_trip(name: &str) -> Presence {
    let first = Presence::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let printed = first.to_xml();
    let second = Presence::parse(printed.as_bytes())
        .unwrap_or_else(|e| panic!("{name} reprinted: {e}\n{printed}"));
    assert_eq!(
        first, second,
        "{name} changed on the round trip:\n{printed}"
    );
    assert_eq!(second.to_xml(), printed, "{name}: printing is not stable");
    first
}

#[test]
fn rfc3863_status_extensions_are_kept() {
    let p = round_trip("rfc3863-4.3.1.xml");
    assert_eq!(p.entity.as_deref(), Some("pres:someone@example.com"));
    let t = p.tuple("bs35r9").unwrap();
    assert_eq!(t.status.basic, Some(Basic::Open));
    assert_eq!(t.status.extensions.len(), 2);
    assert_eq!(
        t.status.extensions[0].name.namespace,
        "urn:ietf:params:xml:ns:pidf:im"
    );
    assert_eq!(
        t.contact.as_ref().unwrap().priority.unwrap().thousandths(),
        800
    );
    assert_eq!(t.notes[1].lang.as_deref(), Some("fr"));
    assert_eq!(p.notes[0].text, "I'll be in Tokyo next week");
}

#[test]
fn rfc3863_prefixed_pidf_and_namespaced_attributes() {
    let p = round_trip("rfc3863-4.3.2.xml");
    assert_eq!(p.tuples.len(), 2);
    assert_eq!(
        p.tuples[1].contact.as_ref().unwrap().uri,
        "im:someone@mobilecarrier.net"
    );
    assert_eq!(p.extensions[0].name.local, "mytag");
    let p = round_trip("rfc3863-4.3.3.xml");
    let ext = &p.tuples[0].extensions[0];
    let ex1 = ext.elements().next().unwrap();
    assert_eq!(ex1.attributes[0].name.namespace, parley_presence::ns::PIDF);
    assert_eq!(ex1.attributes[0].name.local, "mustUnderstand");
    let printed = p.to_xml();
    assert!(printed.contains("pidf:mustUnderstand=\"1\""), "{printed}");
    assert!(
        printed.contains("xmlns:pidf=\"urn:ietf:params:xml:ns:pidf\""),
        "{printed}"
    );
}

#[test]
fn rfc4479_data_model() {
    let p = round_trip("rfc4479-7.xml");
    assert_eq!(p.entity, None);
    assert_eq!(p.tuples[0].device_ids, ["mac:8asd7d7d70"]);
    assert_eq!(p.tuples[0].extensions[0].name.local, "servcaps");
    assert!(p.persons[0].details.activities[0].contains(&Activity::OnThePhone));
    assert_eq!(p.devices[0].device_id.as_deref(), Some("mac:8asd7d7d70"));
    assert_eq!(p.devices[0].details.user_input[0].state, InputState::Idle);
}

#[test]
fn rfc4480_rich_presence() {
    let p = round_trip("rfc4480-4.xml");
    let t = p.tuple("bs35r9").unwrap();
    assert!(t
        .details
        .relationship
        .as_ref()
        .unwrap()
        .contains(&RelationshipValue::SelfContact));
    assert_eq!(
        p.tuple("eg92n8").unwrap().details.class.as_deref(),
        Some("email")
    );
    let d = &p.devices[0];
    let ui = &d.details.user_input[0];
    assert_eq!(
        (
            ui.idle_threshold,
            ui.last_input.as_ref().map(|t| t.as_str())
        ),
        (Some(600), Some("2004-10-21T13:20:00-05:00"))
    );
    let person = &p.persons[0];
    let act = &person.details.activities[0];
    assert_eq!(act.notes[0].text, "Far away");
    assert!(act.contains(&Activity::Away));
    assert!(act.validity.from.is_some() && act.validity.until.is_some());
    let mood = &person.details.mood[0];
    assert!(mood.contains(&MoodValue::Angry));
    assert!(matches!(&mood.items[1], Item::Other(n) if n.text == "brooding"));
    // place-is is not typed: kept verbatim.
    assert_eq!(person.extensions[0].name.local, "place-is");
    assert!(
        matches!(&person.details.place_type[0].items[0], Item::Extension(e) if e.name.local == "residence")
    );
    assert_eq!(
        person.details.sphere[0].text.as_deref(),
        Some("bowling league")
    );
    assert_eq!(person.details.time_offset[0].minutes, -240);
    assert_eq!(
        person.timestamp.as_ref().unwrap().as_str(),
        "2005-05-30T16:09:44+05:00"
    );
}

#[test]
fn rfc4482_contact_information() {
    let p = round_trip("rfc4482-4a.xml");
    let d = &p.persons[0].details;
    assert_eq!(d.display_name.as_deref(), Some("Alice Lewis"));
    assert_eq!(
        d.sound.as_deref(),
        Some("http://example.com/~alice/hello.wav")
    );
    let p = round_trip("rfc4482-4b.xml");
    assert_eq!(
        p.tuple("bs78").unwrap().details.card.as_deref(),
        Some("http://example.com/~assistant/card.vcd")
    );
    assert_eq!(p.extra_attributes[0].name.local, "schemaLocation");
}

#[test]
fn rfc4481_timed_status() {
    let p = round_trip("rfc4481-4.xml");
    let ts = &p.tuples[0].details.timed_status[0];
    assert_eq!(ts.basic, Some(Basic::Closed));
    assert_eq!(ts.from.as_str(), "2005-08-15T10:20:00.000-05:00");
    assert!(ts.covers(ts.from.unix_millis()));
}

#[test]
fn pjsua_documents() {
    let p = round_trip("pjsua-online.xml");
    assert!(p.persons[0].details.activities[0].contains(&Activity::Unknown));
    assert_eq!(p.tuples[0].notes[0].text, "Online");
    let p = round_trip("pjsua-busy.xml");
    assert!(p.persons[0].details.activities[0].contains(&Activity::Busy));
    assert_eq!(p.persons[0].notes[0].text, "Busy");
}

#[test]
fn baresip_document() {
    let p = round_trip("baresip.xml");
    assert!(p.is_open());
    assert!(p.persons[0].details.activities[0].contains(&Activity::Away));
}

#[test]
fn linphone_document() {
    let p = round_trip("linphone.xml");
    assert_eq!(
        p.persons[0].notes[0].text,
        "In a meeting until 3 & then lunch"
    );
    assert_eq!(
        p.tuples[0].extensions[0].name.namespace,
        "urn:oma:xml:prs:pidf:oma-pres"
    );
    assert_eq!(p.tuples[0].status.extensions[0].name.local, "online");
    assert!(p.to_xml().contains("3 &amp; then"));
}

#[test]
fn blink_document_with_arbitrary_prefixes() {
    let p = round_trip("blink.xml");
    let person = &p.persons[0];
    assert!(person.details.mood[0].contains(&MoodValue::Happy));
    assert_eq!(
        person.details.time_offset[0].description.as_deref(),
        Some("Europe/Amsterdam")
    );
    assert_eq!(person.details.display_name.as_deref(), Some("Dave Example"));
    assert_eq!(p.devices[0].details.user_input[0].state, InputState::Active);
    // Output uses the canonical prefixes, whatever the input used.
    let printed = p.to_xml();
    assert!(
        printed.contains("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""),
        "{printed}"
    );
    assert!(
        printed.contains("<c:display-name>Dave Example</c:display-name>"),
        "{printed}"
    );
    assert!(!printed.contains("cipid:"), "{printed}");
}
