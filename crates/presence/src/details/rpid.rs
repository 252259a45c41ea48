//! RPID elements (RFC 4480 §3) as typed values. Each reader returns `None` when the element does
//! not have the shape the schema gives it; the caller then keeps it verbatim as an extension.

use super::keywords::Keyword;
use crate::ns::RPID;
use crate::pidf::Note;
use crate::time::Timestamp;
use crate::xml::{Attribute, Element, Node};

/// The `from`, `until` and `id` attributes shared by RPID elements (RFC 4480 §3.1: the time
/// range over which the element's information is valid).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity.
    pub from: Option<Timestamp>,
    /// End of validity.
    pub until: Option<Timestamp>,
    /// `id`, naming this element among several of the same kind.
    pub id: Option<String>,
}

impl Validity {
    /// Whether the range covers `now` (an absent bound is open).
    pub fn covers(&self, now: crate::UnixMillis) -> bool {
        self.from.as_ref().map_or(true, |f| f.unix_millis() <= now)
            && self.until.as_ref().map_or(true, |u| now < u.unix_millis())
    }

    pub(crate) fn read(el: &Element) -> Option<(Self, Vec<Attribute>)> {
        let mut v = Validity::default();
        let mut extra = Vec::new();
        for a in &el.attributes {
            if !a.name.namespace.is_empty() {
                extra.push(a.clone());
                continue;
            }
            match a.name.local.as_str() {
                "from" => v.from = Some(Timestamp::parse(&a.value).ok()?),
                "until" => v.until = Some(Timestamp::parse(&a.value).ok()?),
                "id" => v.id = Some(a.value.clone()),
                _ => extra.push(a.clone()),
            }
        }
        Some((v, extra))
    }

    pub(crate) fn write(&self, el: Element) -> Element {
        el.with_opt_attr("from", self.from.as_ref().map(Timestamp::as_str))
            .with_opt_attr("until", self.until.as_ref().map(Timestamp::as_str))
            .with_opt_attr("id", self.id.as_deref())
    }
}

/// One value inside an enumerated RPID element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<K> {
    /// One of the values RPID enumerates, e.g. `<rpid:away/>`.
    Known(K),
    /// `<rpid:other>` with free text (RFC 4480 §3.2 and others).
    Other(Note),
    /// An element from another namespace (or an unlisted one), kept verbatim.
    Extension(Element),
}

/// An RPID element holding notes and enumerated values: `<activities>`, `<mood>`,
/// `<place-type>`, `<privacy>`, `<sphere>`, `<relationship>`, `<service-class>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumerated<K> {
    /// Validity range and id.
    pub validity: Validity,
    /// `<rpid:note>` children.
    pub notes: Vec<Note>,
    /// The values, in document order.
    pub items: Vec<Item<K>>,
    /// Free text content, as the RFC 4480 §4 example puts in `<sphere>`; whitespace-only text is
    /// not kept.
    pub text: Option<String>,
    /// Attributes other than `from`, `until`, `id`.
    pub extra_attributes: Vec<Attribute>,
}

impl<K> Default for Enumerated<K> {
    fn default() -> Self {
        Self {
            validity: Validity::default(),
            notes: Vec::new(),
            items: Vec::new(),
            text: None,
            extra_attributes: Vec::new(),
        }
    }
}

impl<K: Keyword> Enumerated<K> {
    /// An element holding just these values.
    pub fn of(values: impl IntoIterator<Item = K>) -> Self {
        Self {
            items: values.into_iter().map(Item::Known).collect(),
            ..Self::default()
        }
    }

    /// The enumerated values, skipping `other` and extensions.
    pub fn known(&self) -> impl Iterator<Item = &K> {
        self.items.iter().filter_map(|i| match i {
            Item::Known(k) => Some(k),
            _ => None,
        })
    }

    /// Whether `value` is among the values.
    pub fn contains(&self, value: &K) -> bool {
        self.known().any(|k| k == value)
    }

    pub(crate) fn read(el: &Element) -> Option<Self> {
        let (validity, extra_attributes) = Validity::read(el)?;
        let mut out = Self {
            validity,
            extra_attributes,
            ..Self::default()
        };
        let mut text = String::new();
        for n in &el.children {
            match n {
                Node::Text(t) => text.push_str(t),
                Node::Element(c) if c.name.namespace == RPID && c.name.local == "note" => {
                    match Note::read(c) {
                        Some(note) => out.notes.push(note),
                        None => out.items.push(Item::Extension(c.clone())),
                    }
                }
                Node::Element(c) if c.name.namespace == RPID && c.name.local == "other" => {
                    match Note::read(c) {
                        Some(note) => out.items.push(Item::Other(note)),
                        None => out.items.push(Item::Extension(c.clone())),
                    }
                }
                Node::Element(c) => {
                    let known = (c.name.namespace == RPID
                        && c.attributes.is_empty()
                        && c.children.is_empty())
                    .then(|| K::from_local(&c.name.local))
                    .flatten();
                    out.items.push(match known {
                        Some(k) => Item::Known(k),
                        None => Item::Extension(c.clone()),
                    });
                }
            }
        }
        if !text.trim().is_empty() {
            out.text = Some(text);
        }
        Some(out)
    }

    pub(crate) fn write(&self, local: &str) -> Element {
        let mut el = self.validity.write(Element::new(RPID, local));
        el.attributes.extend(self.extra_attributes.iter().cloned());
        for n in &self.notes {
            el = el.with_child(n.write(RPID, "note"));
        }
        for i in &self.items {
            el = el.with_child(match i {
                Item::Known(k) => Element::new(RPID, k.local()),
                Item::Other(n) => n.write(RPID, "other"),
                Item::Extension(e) => e.clone(),
            });
        }
        if let Some(t) = &self.text {
            el = el.with_text(t.clone());
        }
        el
    }
}

/// `<rpid:status-icon>`: a URI of an image showing the status (RFC 4480 §3.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusIcon {
    /// The image URI.
    pub uri: String,
    /// Validity range and id.
    pub validity: Validity,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

/// `<rpid:time-offset>`: minutes from UTC where the person is (RFC 4480 §3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOffset {
    /// Offset in minutes, e.g. `-240`.
    pub minutes: i32,
    /// `description`, e.g. a time zone name.
    pub description: Option<String>,
    /// Validity range and id.
    pub validity: Validity,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

/// Whether the user is using the device or service (RFC 4480 §3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputState {
    /// `active`
    Active,
    /// `idle`
    Idle,
}

/// `<rpid:user-input>` (RFC 4480 §3.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    /// `active` or `idle`.
    pub state: InputState,
    /// `idle-threshold`: seconds without input after which the state is `idle`.
    pub idle_threshold: Option<u32>,
    /// `last-input`: when the last input happened.
    pub last_input: Option<Timestamp>,
    /// `id`.
    pub id: Option<String>,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

/// The text of a simple-content element, or `None` if it has element children.
pub(crate) fn simple_text(el: &Element) -> Option<String> {
    (!el.has_element_children()).then(|| el.text())
}

impl StatusIcon {
    pub(crate) fn read(el: &Element) -> Option<Self> {
        let (validity, extra_attributes) = Validity::read(el)?;
        Some(Self {
            uri: simple_text(el)?.trim().to_owned(),
            validity,
            extra_attributes,
        })
    }

    pub(crate) fn write(&self) -> Element {
        let mut el = self.validity.write(Element::new(RPID, "status-icon"));
        el.attributes.extend(self.extra_attributes.iter().cloned());
        el.with_text(self.uri.clone())
    }
}

impl TimeOffset {
    pub(crate) fn read(el: &Element) -> Option<Self> {
        let (validity, mut extra_attributes) = Validity::read(el)?;
        let minutes = simple_text(el)?.trim().parse().ok()?;
        let pos = extra_attributes
            .iter()
            .position(|a| a.name.namespace.is_empty() && a.name.local == "description");
        let description = pos.map(|i| extra_attributes.remove(i).value);
        Some(Self {
            minutes,
            description,
            validity,
            extra_attributes,
        })
    }

    pub(crate) fn write(&self) -> Element {
        let mut el = self.validity.write(Element::new(RPID, "time-offset"));
        el = el.with_opt_attr("description", self.description.as_deref());
        el.attributes.extend(self.extra_attributes.iter().cloned());
        el.with_text(self.minutes.to_string())
    }
}

impl UserInput {
    pub(crate) fn read(el: &Element) -> Option<Self> {
        let state = match simple_text(el)?.trim() {
            "active" => InputState::Active,
            "idle" => InputState::Idle,
            _ => return None,
        };
        let mut out = Self {
            state,
            idle_threshold: None,
            last_input: None,
            id: None,
            extra_attributes: Vec::new(),
        };
        for a in &el.attributes {
            match (a.name.namespace.as_str(), a.name.local.as_str()) {
                ("", "idle-threshold") => out.idle_threshold = Some(a.value.trim().parse().ok()?),
                ("", "last-input") => out.last_input = Some(Timestamp::parse(&a.value).ok()?),
                ("", "id") => out.id = Some(a.value.clone()),
                _ => out.extra_attributes.push(a.clone()),
            }
        }
        Some(out)
    }

    pub(crate) fn write(&self) -> Element {
        let mut el = Element::new(RPID, "user-input")
            .with_opt_attr(
                "idle-threshold",
                self.idle_threshold.map(|t| t.to_string()).as_deref(),
            )
            .with_opt_attr(
                "last-input",
                self.last_input.as_ref().map(Timestamp::as_str),
            )
            .with_opt_attr("id", self.id.as_deref());
        el.attributes.extend(self.extra_attributes.iter().cloned());
        el.with_text(match self.state {
            InputState::Active => "active",
            InputState::Idle => "idle",
        })
    }
}
