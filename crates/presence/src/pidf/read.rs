//! [`Element`] tree → [`Presence`]. The PIDF core (presence, tuple, status, basic, person,
//! device ids) is checked strictly and errors name what is wrong; extension elements that do not
//! have their schema's shape are kept verbatim instead.

use std::collections::HashSet;

use super::{Basic, Contact, Device, Note, Person, Presence, Priority, Status, Tuple};
use crate::error::ParseError;
use crate::ns::{DATA_MODEL, PIDF};
use crate::time::{truncate, Timestamp};
use crate::xml::{Attribute, Element};

pub(super) fn presence(root: &Element) -> Result<Presence, ParseError> {
    if !root.is(PIDF, "presence") {
        return Err(ParseError::WrongRoot {
            expected: "presence",
            found: root.name.local.clone(),
        });
    }
    let mut p = Presence::default();
    for a in &root.attributes {
        if a.name.namespace.is_empty() && a.name.local == "entity" {
            p.entity = Some(a.value.trim().to_owned());
        } else {
            p.extra_attributes.push(a.clone());
        }
    }
    if !root.text().trim().is_empty() {
        return Err(ParseError::InvalidValue {
            what: "text in <presence>",
            value: truncate(root.text().trim()),
        });
    }
    for c in root.elements() {
        match (c.name.namespace.as_str(), c.name.local.as_str()) {
            (PIDF, "tuple") => p.tuples.push(tuple(c)?),
            (PIDF, "note") => keep_note(c, &mut p.notes, &mut p.extensions),
            (DATA_MODEL, "person") => p.persons.push(person(c)?),
            (DATA_MODEL, "device") => p.devices.push(device(c)?),
            _ => p.extensions.push(c.clone()),
        }
    }
    unique("tuple", p.tuples.iter().map(|t| t.id.as_str()))?;
    unique("person", p.persons.iter().map(|t| t.id.as_str()))?;
    unique("device", p.devices.iter().map(|t| t.id.as_str()))?;
    Ok(p)
}

fn unique<'a>(what: &'static str, ids: impl Iterator<Item = &'a str>) -> Result<(), ParseError> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(ParseError::DuplicateId {
                what,
                id: truncate(id),
            });
        }
    }
    Ok(())
}

fn keep_note(el: &Element, notes: &mut Vec<Note>, extensions: &mut Vec<Element>) {
    match Note::read(el) {
        Some(n) => notes.push(n),
        None => extensions.push(el.clone()),
    }
}

/// The required `id`, and the other attributes.
fn id_and_rest(
    el: &Element,
    element: &'static str,
) -> Result<(String, Vec<Attribute>), ParseError> {
    let mut id = None;
    let mut rest = Vec::new();
    for a in &el.attributes {
        if a.name.namespace.is_empty() && a.name.local == "id" && id.is_none() {
            id = Some(a.value.trim().to_owned());
        } else {
            rest.push(a.clone());
        }
    }
    match id {
        Some(id) if !id.is_empty() => Ok((id, rest)),
        _ => Err(ParseError::MissingAttribute {
            element,
            attribute: "id",
        }),
    }
}

fn timestamp(
    el: &Element,
    slot: &mut Option<Timestamp>,
    element: &'static str,
) -> Result<bool, ParseError> {
    if el.has_element_children() {
        return Ok(false);
    }
    if slot.is_some() {
        return Err(ParseError::Duplicate {
            element,
            child: "timestamp",
        });
    }
    *slot = Some(Timestamp::parse(&el.text())?);
    Ok(true)
}

fn tuple(el: &Element) -> Result<Tuple, ParseError> {
    let (id, extra_attributes) = id_and_rest(el, "tuple")?;
    let mut t = Tuple {
        id,
        extra_attributes,
        ..Tuple::default()
    };
    let mut have_status = false;
    for c in el.elements() {
        let taken = match (c.name.namespace.as_str(), c.name.local.as_str()) {
            (PIDF, "status") if !have_status => {
                t.status = status(c)?;
                have_status = true;
                true
            }
            (PIDF, "contact") => match contact(c)? {
                Some(_) if t.contact.is_some() => {
                    return Err(ParseError::Duplicate {
                        element: "tuple",
                        child: "contact",
                    })
                }
                Some(found) => {
                    t.contact = Some(found);
                    true
                }
                None => false,
            },
            (PIDF, "note") => {
                keep_note(c, &mut t.notes, &mut t.extensions);
                true
            }
            (PIDF, "timestamp") => timestamp(c, &mut t.timestamp, "tuple")?,
            (DATA_MODEL, "deviceID") if c.attributes.is_empty() && !c.has_element_children() => {
                t.device_ids.push(c.text().trim().to_owned());
                true
            }
            _ => t.details.absorb(c),
        };
        if !taken {
            t.extensions.push(c.clone());
        }
    }
    if !have_status {
        return Err(ParseError::MissingElement {
            element: "tuple",
            child: "status",
        });
    }
    Ok(t)
}

fn status(el: &Element) -> Result<Status, ParseError> {
    let mut s = Status::default();
    for c in el.elements() {
        if c.is(PIDF, "basic") && s.basic.is_none() {
            s.basic = Some(Basic::read(c)?);
        } else {
            s.extensions.push(c.clone());
        }
    }
    Ok(s)
}

/// `None` (kept as an extension) if the element carries attributes other than `priority`.
fn contact(el: &Element) -> Result<Option<Contact>, ParseError> {
    if el.has_element_children() {
        return Ok(None);
    }
    let mut priority = None;
    for a in &el.attributes {
        if a.name.namespace.is_empty() && a.name.local == "priority" && priority.is_none() {
            priority = Some(
                Priority::parse(&a.value).ok_or_else(|| ParseError::InvalidValue {
                    what: "contact priority",
                    value: truncate(&a.value),
                })?,
            );
        } else {
            return Ok(None);
        }
    }
    Ok(Some(Contact {
        uri: el.text().trim().to_owned(),
        priority,
    }))
}

fn person(el: &Element) -> Result<Person, ParseError> {
    let (id, extra_attributes) = id_and_rest(el, "person")?;
    let mut p = Person {
        id,
        extra_attributes,
        ..Person::default()
    };
    for c in el.elements() {
        let taken = match (c.name.namespace.as_str(), c.name.local.as_str()) {
            (DATA_MODEL, "note") => {
                keep_note(c, &mut p.notes, &mut p.extensions);
                true
            }
            (DATA_MODEL, "timestamp") => timestamp(c, &mut p.timestamp, "person")?,
            _ => p.details.absorb(c),
        };
        if !taken {
            p.extensions.push(c.clone());
        }
    }
    Ok(p)
}

fn device(el: &Element) -> Result<Device, ParseError> {
    let (id, extra_attributes) = id_and_rest(el, "device")?;
    let mut d = Device {
        id,
        extra_attributes,
        ..Device::default()
    };
    for c in el.elements() {
        let taken = match (c.name.namespace.as_str(), c.name.local.as_str()) {
            (DATA_MODEL, "deviceID") if c.attributes.is_empty() && !c.has_element_children() => {
                if d.device_id.is_some() {
                    return Err(ParseError::Duplicate {
                        element: "device",
                        child: "deviceID",
                    });
                }
                d.device_id = Some(c.text().trim().to_owned());
                true
            }
            (DATA_MODEL, "note") => {
                keep_note(c, &mut d.notes, &mut d.extensions);
                true
            }
            (DATA_MODEL, "timestamp") => timestamp(c, &mut d.timestamp, "device")?,
            _ => d.details.absorb(c),
        };
        if !taken {
            d.extensions.push(c.clone());
        }
    }
    Ok(d)
}
