//! [`Presence`] → [`Element`] tree, in the element order of the schemas (RFC 3863 §4.4,
//! RFC 4479 §6).

use super::{Device, Person, Presence, Status, Tuple};
use crate::ns::{DATA_MODEL, PIDF};
use crate::time::Timestamp;
use crate::xml::{Element, Node};

pub(super) fn presence(p: &Presence) -> Element {
    let mut el = Element::new(PIDF, "presence").with_opt_attr("entity", p.entity.as_deref());
    el.attributes.extend(p.extra_attributes.iter().cloned());
    let mut kids: Vec<Element> = p.tuples.iter().map(tuple).collect();
    kids.extend(p.notes.iter().map(|n| n.write(PIDF, "note")));
    kids.extend(p.persons.iter().map(person));
    kids.extend(p.devices.iter().map(device));
    kids.extend(p.extensions.iter().cloned());
    el.children = kids.into_iter().map(Node::Element).collect();
    el
}

fn timestamp(ns: &str, t: &Timestamp) -> Element {
    Element::new(ns, "timestamp").with_text(t.as_str())
}

fn tuple(t: &Tuple) -> Element {
    let mut el = Element::new(PIDF, "tuple").with_attr("id", t.id.clone());
    el.attributes.extend(t.extra_attributes.iter().cloned());
    let mut kids = vec![status(&t.status)];
    kids.extend(
        t.device_ids
            .iter()
            .map(|d| Element::new(DATA_MODEL, "deviceID").with_text(d.clone())),
    );
    t.details.write(&mut kids);
    kids.extend(t.extensions.iter().cloned());
    if let Some(c) = &t.contact {
        let p = c.priority.map(|p| p.to_string());
        kids.push(
            Element::new(PIDF, "contact")
                .with_opt_attr("priority", p.as_deref())
                .with_text(c.uri.clone()),
        );
    }
    kids.extend(t.notes.iter().map(|n| n.write(PIDF, "note")));
    kids.extend(t.timestamp.iter().map(|ts| timestamp(PIDF, ts)));
    el.children = kids.into_iter().map(Node::Element).collect();
    el
}

fn status(s: &Status) -> Element {
    let mut el = Element::new(PIDF, "status");
    if let Some(b) = s.basic {
        el = el.with_child(Element::new(PIDF, "basic").with_text(b.as_str()));
    }
    for e in &s.extensions {
        el = el.with_child(e.clone());
    }
    el
}

fn person(p: &Person) -> Element {
    let mut el = Element::new(DATA_MODEL, "person").with_attr("id", p.id.clone());
    el.attributes.extend(p.extra_attributes.iter().cloned());
    let mut kids = Vec::new();
    p.details.write(&mut kids);
    kids.extend(p.extensions.iter().cloned());
    kids.extend(p.notes.iter().map(|n| n.write(DATA_MODEL, "note")));
    kids.extend(p.timestamp.iter().map(|ts| timestamp(DATA_MODEL, ts)));
    el.children = kids.into_iter().map(Node::Element).collect();
    el
}

fn device(d: &Device) -> Element {
    let mut el = Element::new(DATA_MODEL, "device").with_attr("id", d.id.clone());
    el.attributes.extend(d.extra_attributes.iter().cloned());
    let mut kids = Vec::new();
    d.details.write(&mut kids);
    kids.extend(d.extensions.iter().cloned());
    kids.extend(
        d.device_id
            .iter()
            .map(|i| Element::new(DATA_MODEL, "deviceID").with_text(i.clone())),
    );
    kids.extend(d.notes.iter().map(|n| n.write(DATA_MODEL, "note")));
    kids.extend(d.timestamp.iter().map(|ts| timestamp(DATA_MODEL, ts)));
    el.children = kids.into_iter().map(Node::Element).collect();
    el
}
