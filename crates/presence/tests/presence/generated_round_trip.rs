//! Printing then parsing is the identity on generated documents: a server that parses a
//! publication and prints it to watchers changes nothing in it, extensions included. Arbitrary
//! and mutated bodies never panic the parser.

use parley_presence::details::{
    Activities, Activity, Details, Item, Keyword, Mood, MoodValue, UserInput, Validity,
};
use parley_presence::details::{InputState, TimeOffset};
use parley_presence::xml::{Attribute, Element, Name, Node};
use parley_presence::{
    Basic, Contact, Device, Note, Person, Presence, Priority, Status, Timestamp, Tuple,
};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9-]{0,8}"
}

fn uri() -> impl Strategy<Value = String> {
    "[a-z]{1,5}:[a-z0-9@./&<>-]{1,16}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,'&<>\"é\u{1F600}-]{0,20}"
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        (0i64..4_102_444_800_000).prop_map(Timestamp::from_unix_millis),
        Just(Timestamp::parse("2005-05-30T16:09:44+05:00").unwrap()),
    ]
}

fn note() -> impl Strategy<Value = Note> {
    (text(), proptest::option::of("[a-z]{2}")).prop_map(|(text, lang)| Note { text, lang })
}

fn ext_attrs(ns: &'static str) -> impl Strategy<Value = Vec<Attribute>> {
    proptest::collection::btree_map("[a-z]{1,5}", text(), 0..3).prop_map(move |m| {
        m.into_iter()
            .map(|(local, value)| Attribute {
                name: Name::new(ns, &local),
                value,
            })
            .collect()
    })
}

/// Extension elements in `urn:x`: text leaves, or elements with element children only.
fn extension() -> impl Strategy<Value = Element> {
    let leaf = ("[a-z]{1,6}", ext_attrs(""), "[a-z0-9][a-z0-9 &<]{0,10}").prop_map(
        |(local, attributes, t)| Element {
            name: Name::new("urn:x", &local),
            attributes,
            children: vec![Node::Text(t)],
        },
    );
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            "[a-z]{1,6}",
            ext_attrs("urn:y"),
            proptest::collection::vec(inner, 0..3),
        )
            .prop_map(|(local, attributes, kids)| Element {
                name: Name::new("urn:x", &local),
                attributes,
                children: kids.into_iter().map(Node::Element).collect(),
            })
    })
}

fn validity() -> impl Strategy<Value = Validity> {
    (
        proptest::option::of(timestamp()),
        proptest::option::of(timestamp()),
        proptest::option::of(id()),
    )
        .prop_map(|(from, until, id)| Validity { from, until, id })
}

fn items<K: Keyword + 'static>() -> impl Strategy<Value = Vec<Item<K>>> {
    let known = proptest::sample::select(K::all()).prop_map(Item::Known);
    let item = prop_oneof![4 => known, 1 => note().prop_map(Item::Other), 1 => extension().prop_map(Item::Extension)];
    proptest::collection::vec(item, 0..4)
}

fn activities() -> impl Strategy<Value = Activities> {
    (
        validity(),
        proptest::collection::vec(note(), 0..2),
        items::<Activity>(),
        proptest::option::of("[a-z][a-z ]{0,8}[a-z]"),
    )
        .prop_map(|(validity, notes, items, text)| Activities {
            validity,
            notes,
            items,
            text,
            extra_attributes: vec![],
        })
}

fn mood() -> impl Strategy<Value = Mood> {
    (validity(), items::<MoodValue>(), ext_attrs("urn:y")).prop_map(
        |(validity, items, extra_attributes)| Mood {
            validity,
            items,
            extra_attributes,
            ..Mood::default()
        },
    )
}

fn details() -> impl Strategy<Value = Details> {
    (
        proptest::collection::vec(activities(), 0..2),
        proptest::collection::vec(mood(), 0..2),
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of((
            any::<bool>(),
            proptest::option::of(1u32..100_000),
            proptest::option::of(timestamp()),
        )),
        proptest::option::of((-720i32..720, proptest::option::of(text()))),
        (
            proptest::option::of(uri()),
            proptest::option::of(text()),
            proptest::option::of(uri()),
        ),
    )
        .prop_map(
            |(activities, mood, class, input, offset, (card, display_name, icon))| Details {
                activities,
                mood,
                class,
                user_input: input
                    .map(|(active, idle_threshold, last_input)| UserInput {
                        state: if active {
                            InputState::Active
                        } else {
                            InputState::Idle
                        },
                        idle_threshold,
                        last_input,
                        id: None,
                        extra_attributes: vec![],
                    })
                    .into_iter()
                    .collect(),
                time_offset: offset
                    .map(|(minutes, description)| TimeOffset {
                        minutes,
                        description,
                        validity: Validity::default(),
                        extra_attributes: vec![],
                    })
                    .into_iter()
                    .collect(),
                card,
                display_name,
                icon,
                ..Details::default()
            },
        )
}

fn tuple() -> impl Strategy<Value = Tuple> {
    (
        id(),
        (
            proptest::option::of(any::<bool>()),
            proptest::collection::vec(extension(), 0..2),
        ),
        proptest::collection::vec("[a-z0-9:]{1,12}", 0..2),
        details(),
        proptest::collection::vec(extension(), 0..2),
        proptest::option::of((uri(), proptest::option::of(0u16..=1000))),
        proptest::collection::vec(note(), 0..3),
        (proptest::option::of(timestamp()), ext_attrs("urn:y")),
    )
        .prop_map(
            |(
                id,
                (basic, status_ext),
                device_ids,
                details,
                extensions,
                contact,
                notes,
                (timestamp, extra_attributes),
            )| {
                Tuple {
                    id,
                    status: Status {
                        basic: basic.map(|o| if o { Basic::Open } else { Basic::Closed }),
                        extensions: status_ext,
                    },
                    device_ids,
                    details,
                    extensions,
                    contact: contact.map(|(uri, p)| Contact {
                        uri,
                        priority: p.and_then(Priority::from_thousandths),
                    }),
                    notes,
                    timestamp,
                    extra_attributes,
                }
            },
        )
}

fn person() -> impl Strategy<Value = Person> {
    (
        id(),
        details(),
        proptest::collection::vec(extension(), 0..2),
        proptest::collection::vec(note(), 0..2),
        proptest::option::of(timestamp()),
    )
        .prop_map(|(id, details, extensions, notes, timestamp)| Person {
            id,
            details,
            extensions,
            notes,
            timestamp,
            extra_attributes: vec![],
        })
}

fn device() -> impl Strategy<Value = Device> {
    (
        id(),
        proptest::option::of("[a-z0-9:]{1,12}"),
        details(),
        proptest::collection::vec(note(), 0..2),
        proptest::option::of(timestamp()),
    )
        .prop_map(|(id, device_id, details, notes, timestamp)| Device {
            id,
            device_id,
            details,
            notes,
            timestamp,
            ..Device::default()
        })
}

fn dedup<T>(mut v: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|t| seen.insert(key(t)));
    v
}

fn presence() -> impl Strategy<Value = Presence> {
    (
        proptest::option::of(uri()),
        proptest::collection::vec(tuple(), 0..4),
        proptest::collection::vec(note(), 0..2),
        proptest::collection::vec(person(), 0..3),
        proptest::collection::vec(device(), 0..3),
        proptest::collection::vec(extension(), 0..2),
        ext_attrs("urn:y"),
    )
        .prop_map(
            |(entity, tuples, notes, persons, devices, extensions, extra_attributes)| Presence {
                entity,
                tuples: dedup(tuples, |t| t.id.clone()),
                notes,
                persons: dedup(persons, |p| p.id.clone()),
                devices: dedup(devices, |d| d.id.clone()),
                extensions,
                extra_attributes,
            },
        )
}

proptest! {
    #[test]
    fn print_then_parse_is_identity(doc in presence()) {
        let printed = doc.to_xml();
        let parsed = Presence::parse(printed.as_bytes());
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, printed);
        prop_assert_eq!(parsed.unwrap(), doc);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Presence::parse(&bytes);
        let _ = parley_presence::WatcherInfo::parse(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(pos in 0usize..3000, byte in any::<u8>(), cut in 0usize..3000) {
        for name in ["blink.xml", "rfc4480-4.xml"] {
            let mut body = crate::fixture(name);
            let at = pos % body.len();
            body[at] = byte;
            body.truncate(body.len() - cut % body.len());
            if let Ok(doc) = Presence::parse(&body) {
                prop_assert_eq!(Presence::parse(doc.to_xml().as_bytes()).unwrap(), doc);
            }
        }
    }
}
