//! Composition: the publications of all of a presentity's devices become one document for its
//! watchers (RFC 3903 §4 "event state compositor"; RFC 4479 §4 leaves the policy to the server).
//!
//! # The rule
//!
//! Publications are ranked newest first: by the time their document was last set (initial
//! PUBLISH or modify; a refresh does not count), then by arrival order. Then:
//!
//! 1. **Services (tuples)**: every tuple of every publication, newest publication first, each
//!    publication's tuples in their own order. Tuples are identified by `id`: when two
//!    publications carry the same id, the one from the newer publication is kept. A device that
//!    re-publishes after losing its entity-tag (a `412` followed by a fresh PUBLISH, which leaves
//!    the old publication until it expires) therefore does not show twice.
//! 2. **Devices**: the same, by device `id`.
//! 3. **Person**: exactly one `<dm:person>`, the one with the newest *effective time*: its own
//!    `<dm:timestamp>` if it has one, else the time its publication was last set. On a tie the
//!    newer publication wins, then the earlier person in the document. The person is taken
//!    whole: its activities, mood, place, notes, CIPID data and timestamp all come from it, so
//!    a watcher never sees the activity of one device next to the note of another. Its `id` is
//!    kept.
//! 4. **Presence notes** (`<note>` directly under `<presence>`): those of the newest
//!    publication that has any.
//! 5. **Other extensions** directly under `<presence>`: the union of all publications'
//!    (identical elements once), newest first; extra attributes of `<presence>` by name, the
//!    newest publication's value winning.
//! 6. The `entity` is the presentity's URI, whatever the publications said.
//!
//! With no publication at all, [`default_document`] stands in: one `open` tuple while the user
//! is registered, one `closed` tuple otherwise (issue 4).

use crate::pidf::{Basic, Person, Presence};
use crate::publish::{Publication, Publications};
use crate::time::UnixMillis;
use crate::xml::Attribute;

/// One publication as composition sees it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The published document.
    pub document: &'a Presence,
    /// When the document was last set.
    pub modified_at: UnixMillis,
    /// Arrival order among the presentity's publications (larger is newer).
    pub sequence: u64,
}

impl<'a> From<&'a Publication<Presence>> for Source<'a> {
    fn from(p: &'a Publication<Presence>) -> Self {
        Self {
            document: &p.document,
            modified_at: p.modified_at,
            sequence: p.sequence,
        }
    }
}

/// Composes `sources` into one document for `presentity` by the rule in the module docs.
pub fn compose(presentity: &str, sources: &[Source<'_>]) -> Presence {
    let mut ranked: Vec<&Source<'_>> = sources.iter().collect();
    ranked.sort_by_key(|s| std::cmp::Reverse((s.modified_at, s.sequence)));

    let mut out = Presence {
        entity: Some(presentity.to_owned()),
        ..Presence::default()
    };
    for s in &ranked {
        for t in &s.document.tuples {
            if out.tuples.iter().all(|o| o.id != t.id) {
                out.tuples.push(t.clone());
            }
        }
        for d in &s.document.devices {
            if out.devices.iter().all(|o| o.id != d.id) {
                out.devices.push(d.clone());
            }
        }
        if out.notes.is_empty() {
            out.notes.clone_from(&s.document.notes);
        }
        for e in &s.document.extensions {
            if !out.extensions.contains(e) {
                out.extensions.push(e.clone());
            }
        }
        for a in &s.document.extra_attributes {
            if !out
                .extra_attributes
                .iter()
                .any(|o: &Attribute| o.name == a.name)
            {
                out.extra_attributes.push(a.clone());
            }
        }
    }
    // Rank 0 is the newest publication; a smaller rank wins ties.
    let mut best: Option<(
        UnixMillis,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
        &Person,
    )> = None;
    for (rank, s) in ranked.iter().enumerate() {
        for (pos, p) in s.document.persons.iter().enumerate() {
            let when = p
                .timestamp
                .as_ref()
                .map_or(s.modified_at, |t| t.unix_millis());
            let key = (when, std::cmp::Reverse(rank), std::cmp::Reverse(pos), p);
            if best
                .as_ref()
                .map_or(true, |b| (key.0, key.1, key.2) > (b.0, b.1, b.2))
            {
                best = Some(key);
            }
        }
    }
    out.persons.extend(best.map(|b| b.3.clone()));
    out
}

/// Composes the publications held for `presentity`.
pub fn compose_publications(presentity: &str, publications: &Publications<Presence>) -> Presence {
    let sources: Vec<Source<'_>> = publications.iter().map(Source::from).collect();
    compose(presentity, &sources)
}

/// The document for a presentity with no publication: one tuple, `open` if `registered`, else
/// `closed` (issue 4: a registered user who never publishes appears online).
pub fn default_document(presentity: &str, registered: bool) -> Presence {
    let basic = if registered {
        Basic::Open
    } else {
        Basic::Closed
    };
    Presence::with_basic(presentity, "default", basic)
}

/// What watchers of `presentity` see: the composition of its publications, or
/// [`default_document`] when there is none.
pub fn presence_for(
    presentity: &str,
    publications: &Publications<Presence>,
    registered: bool,
) -> Presence {
    if publications.is_empty() {
        default_document(presentity, registered)
    } else {
        compose_publications(presentity, publications)
    }
}
