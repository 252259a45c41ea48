//! The presence document: PIDF (RFC 3863) with the data model's person and device (RFC 4479).
//!
//! [`Presence::parse`] turns an `application/pidf+xml` body into a [`Presence`];
//! [`Presence::to_xml`] prints one. Prefixes in the input may be anything; the output uses the
//! default namespace for PIDF and fixed prefixes for the rest (`dm`, `rpid`, `c`, `ts`, …, see
//! [`crate::ns`]). Elements this crate does not type are kept verbatim as [`Element`]s in the
//! `extensions` of their parent, and unknown attributes in `extra_attributes`, so nothing a
//! client published is lost on the way to watchers.

mod read;
mod write;

use crate::details::Details;
use crate::error::ParseError;
use crate::time::Timestamp;
use crate::xml::{Attribute, Element, Limits};

/// `application/pidf+xml` (RFC 3863 §7.1).
pub const PIDF_CONTENT_TYPE: &str = "application/pidf+xml";

/// A presence document (RFC 3863 §4.1.1 `<presence>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// `entity`: the presentity's URI. Required by RFC 3863, yet absent from some examples
    /// (RFC 4479 §7), so optional here; composition always sets it.
    pub entity: Option<String>,
    /// `<tuple>` elements: services in the data model (RFC 4479 §3.3).
    pub tuples: Vec<Tuple>,
    /// `<note>` elements of the presence element.
    pub notes: Vec<Note>,
    /// `<dm:person>` elements (RFC 4479 §3.2).
    pub persons: Vec<Person>,
    /// `<dm:device>` elements (RFC 4479 §3.4).
    pub devices: Vec<Device>,
    /// Other children, verbatim.
    pub extensions: Vec<Element>,
    /// Other attributes of `<presence>`.
    pub extra_attributes: Vec<Attribute>,
}

/// A `<tuple>` (RFC 3863 §4.1.2), which the data model calls a service (RFC 4479 §3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuple {
    /// `id`, unique in the document.
    pub id: String,
    /// `<status>` (required).
    pub status: Status,
    /// `<dm:deviceID>`s: the devices this service runs on (RFC 4479 §3.3, §6).
    pub device_ids: Vec<String>,
    /// RPID, CIPID and timed-status elements.
    pub details: Details,
    /// Other extension elements, verbatim.
    pub extensions: Vec<Element>,
    /// `<contact>` (RFC 3863 §4.1.5).
    pub contact: Option<Contact>,
    /// `<note>`s (RFC 3863 §4.1.6).
    pub notes: Vec<Note>,
    /// `<timestamp>` (RFC 3863 §4.1.7).
    pub timestamp: Option<Timestamp>,
    /// Other attributes of `<tuple>`.
    pub extra_attributes: Vec<Attribute>,
}

/// `<status>` (RFC 3863 §4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `<basic>` (RFC 3863 §4.1.4).
    pub basic: Option<Basic>,
    /// Status extensions, verbatim (e.g. RFC 3863 §4.3.1's `<im:im>`).
    pub extensions: Vec<Element>,
}

/// `open` or `closed` (RFC 3863 §4.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basic {
    /// Able to accept communication.
    Open,
    /// Unable to accept communication.
    Closed,
}

impl Basic {
    /// The value as written in XML.
    pub fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }

    pub(crate) fn read(el: &Element) -> Result<Self, ParseError> {
        match el.text().trim() {
            "open" => Ok(Basic::Open),
            "closed" => Ok(Basic::Closed),
            other => Err(ParseError::InvalidValue {
                what: "basic status",
                value: crate::time::truncate(other),
            }),
        }
    }
}

/// `<contact>` (RFC 3863 §4.1.5): a URI to reach the service, with a priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The URI, whitespace trimmed (xs:anyURI).
    pub uri: String,
    /// `priority`, 0 to 1.
    pub priority: Option<Priority>,
}

/// A contact priority, 0 to 1 with up to three decimals (RFC 3863 §4.1.5), kept in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u16);

impl Priority {
    /// From thousandths; `None` above 1000.
    pub fn from_thousandths(t: u16) -> Option<Self> {
        (t <= 1000).then_some(Self(t))
    }

    /// The value in thousandths.
    pub fn thousandths(self) -> u16 {
        self.0
    }

    /// Parses `0`, `1`, `1.0`, `0.8`, `.725`, at most three decimals.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.len() > 3 || (int.is_empty() && frac.is_empty()) {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int: u16 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut t = int.checked_mul(1000)?;
        for (i, b) in frac.bytes().enumerate() {
            t = t.checked_add(u16::from(b - b'0') * [100, 10, 1][i])?;
        }
        Self::from_thousandths(t)
    }
}

impl std::fmt::Display for Priority {
    /// Shortest decimal: `1`, `0.8`, `0.725`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, mut frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            return write!(f, "{i}");
        }
        let mut digits = 3;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "{i}.{frac:0digits$}")
    }
}

/// A note: human-readable text with an optional language (RFC 3863 §4.1.6, RFC 4479 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, exactly as sent.
    pub text: String,
    /// `xml:lang`.
    pub lang: Option<String>,
}

impl Note {
    /// A note without language.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            lang: None,
        }
    }

    /// `None` if `el` has children elements or attributes other than `xml:lang`.
    pub(crate) fn read(el: &Element) -> Option<Self> {
        if el.has_element_children()
            || el
                .attributes
                .iter()
                .any(|a| !a.name.is(crate::ns::XML, "lang"))
        {
            return None;
        }
        Some(Self {
            text: el.text(),
            lang: el.lang().map(str::to_owned),
        })
    }

    pub(crate) fn write(&self, namespace: &str, local: &str) -> Element {
        let mut el = Element::new(namespace, local);
        if let Some(lang) = &self.lang {
            el.attributes.push(crate::xml::Attribute {
                name: crate::xml::Name::new(crate::ns::XML, "lang"),
                value: lang.clone(),
            });
        }
        el.with_text(self.text.clone())
    }
}

/// `<dm:person>` (RFC 4479 §3.2): the human, with RPID/CIPID characteristics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// `id`.
    pub id: String,
    /// RPID, CIPID and timed-status elements.
    pub details: Details,
    /// Other extension elements, verbatim.
    pub extensions: Vec<Element>,
    /// `<dm:note>`s.
    pub notes: Vec<Note>,
    /// `<dm:timestamp>`: when this information was last changed.
    pub timestamp: Option<Timestamp>,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

/// `<dm:device>` (RFC 4479 §3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// `id`.
    pub id: String,
    /// `<dm:deviceID>`: a URN identifying the device. Required by the schema; optional here.
    pub device_id: Option<String>,
    /// RPID, CIPID and timed-status elements (e.g. `<rpid:user-input>`).
    pub details: Details,
    /// Other extension elements, verbatim.
    pub extensions: Vec<Element>,
    /// `<dm:note>`s.
    pub notes: Vec<Note>,
    /// `<dm:timestamp>`.
    pub timestamp: Option<Timestamp>,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

impl Presence {
    /// Parses an `application/pidf+xml` body with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        Self::parse_with(body, &Limits::default())
    }

    /// Parses an `application/pidf+xml` body within `limits`.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        let root = crate::xml::parse_tree(body, limits)?;
        read::presence(&root)
    }

    /// Prints the document (UTF-8, with an XML declaration).
    pub fn to_xml(&self) -> String {
        crate::xml::write_document(&write::presence(self))
    }

    /// A document for `entity` with one tuple of status `basic`.
    pub fn with_basic(entity: &str, tuple_id: &str, basic: Basic) -> Self {
        Self {
            entity: Some(entity.to_owned()),
            tuples: vec![Tuple {
                id: tuple_id.to_owned(),
                status: Status {
                    basic: Some(basic),
                    ..Status::default()
                },
                ..Tuple::default()
            }],
            ..Self::default()
        }
    }

    /// The tuple with `id`.
    pub fn tuple(&self, id: &str) -> Option<&Tuple> {
        self.tuples.iter().find(|t| t.id == id)
    }

    /// Whether any tuple is `open`.
    pub fn is_open(&self) -> bool {
        self.tuples
            .iter()
            .any(|t| t.status.basic == Some(Basic::Open))
    }
}

#[cfg(test)]
mod tests {
    use super::Priority;

    #[test]
    fn priorities_print_shortest() {
        for (s, t, back) in [
            ("0.8", 800, "0.8"),
            ("1.0", 1000, "1"),
            (".725", 725, "0.725"),
            ("0", 0, "0"),
            ("0.05", 50, "0.05"),
        ] {
            let p = Priority::parse(s).unwrap();
            assert_eq!(p.thousandths(), t);
            assert_eq!(p.to_string(), back);
        }
        for bad in ["", ".", "1.5", "0.1234", "-0.5", "x"] {
            assert!(Priority::parse(bad).is_none(), "{bad}");
        }
    }
}
