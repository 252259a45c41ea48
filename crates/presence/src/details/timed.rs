//! `<ts:timed-status>` (RFC 4481 §3): the status a tuple will have, or had, over a time range.

use crate::ns::{PIDF, TIMED_STATUS};
use crate::pidf::{Basic, Note};
use crate::time::Timestamp;
use crate::xml::{Attribute, Element};

/// A status valid from `from` until `until` (RFC 4481 §3). Composition leaves these as they are;
/// a receiver renders them next to the current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedStatus {
    /// Start of the range (required by RFC 4481 §3).
    pub from: Timestamp,
    /// End of the range; absent means "until overridden".
    pub until: Option<Timestamp>,
    /// `<ts:basic>`.
    pub basic: Option<Basic>,
    /// `<ts:note>`.
    pub note: Option<Note>,
    /// Other children, kept verbatim.
    pub extensions: Vec<Element>,
    /// Other attributes.
    pub extra_attributes: Vec<Attribute>,
}

impl TimedStatus {
    /// Whether the range covers `now` (RFC 4481 §3: a PA may then drop it or promote it).
    pub fn covers(&self, now: crate::UnixMillis) -> bool {
        self.from.unix_millis() <= now
            && self.until.as_ref().map_or(true, |u| now < u.unix_millis())
    }

    pub(crate) fn read(el: &Element) -> Option<Self> {
        let mut from = None;
        let mut until = None;
        let mut extra_attributes = Vec::new();
        for a in &el.attributes {
            match (a.name.namespace.as_str(), a.name.local.as_str()) {
                ("", "from") => from = Some(Timestamp::parse(&a.value).ok()?),
                ("", "until") => until = Some(Timestamp::parse(&a.value).ok()?),
                _ => extra_attributes.push(a.clone()),
            }
        }
        let mut out = Self {
            from: from?,
            until,
            basic: None,
            note: None,
            extensions: Vec::new(),
            extra_attributes,
        };
        if !el.text().trim().is_empty() {
            return None;
        }
        for c in el.elements() {
            let ours = c.name.namespace == TIMED_STATUS || c.name.namespace == PIDF;
            if ours && c.name.local == "basic" && out.basic.is_none() {
                out.basic = Some(Basic::read(c).ok()?);
            } else if ours && c.name.local == "note" && out.note.is_none() {
                out.note = Some(Note::read(c)?);
            } else {
                out.extensions.push(c.clone());
            }
        }
        Some(out)
    }

    pub(crate) fn write(&self) -> Element {
        let mut el = Element::new(TIMED_STATUS, "timed-status")
            .with_attr("from", self.from.as_str())
            .with_opt_attr("until", self.until.as_ref().map(Timestamp::as_str));
        el.attributes.extend(self.extra_attributes.iter().cloned());
        if let Some(b) = self.basic {
            el = el.with_child(Element::new(TIMED_STATUS, "basic").with_text(b.as_str()));
        }
        if let Some(n) = &self.note {
            el = el.with_child(n.write(TIMED_STATUS, "note"));
        }
        for e in &self.extensions {
            el = el.with_child(e.clone());
        }
        el
    }
}
