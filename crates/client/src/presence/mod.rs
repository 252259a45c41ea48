//! Presence for a user agent (RFC 3856, RFC 3903): what we publish, what we watch.
//!
//! - [`PresenceState`]: our own status, activities, note and mood, and the PIDF document
//!   (RFC 3863 with RPID, RFC 4480) built from it; edited by `key=value` lines.
//! - [`publisher`]: the RFC 3903 entity-tag life cycle of our publication (sans-IO
//!   [`publisher::Publisher`]) and the task that runs it ([`publisher::PresencePublisher`]).
//! - [`agent`]: the task that owns our subscriptions as watcher (presence, presence.winfo)
//!   and, for the end-to-end model (RFC 3856 §3.3), answers SUBSCRIBEs for our own address.
//! - [`decisions`]: our answers to pending watchers over the server's HTTP API.

pub mod agent;
pub mod decisions;
pub mod publisher;

use parley_presence::details::{Activities, Activity, Details, Mood, MoodValue};
use parley_presence::{Basic, Note, Person, Presence};

/// Our own presence, as the user sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceState {
    pub status: Basic,
    pub activities: Vec<Activity>,
    pub note: Option<String>,
    pub mood: Vec<MoodValue>,
}

impl Default for PresenceState {
    fn default() -> Self {
        PresenceState {
            status: Basic::Open,
            activities: Vec::new(),
            note: None,
            mood: Vec::new(),
        }
    }
}

/// A `key=value` line that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateLineError {
    #[error("unknown key {0:?} (use status, activity, note, mood)")]
    UnknownKey(String),
    #[error("{key}: unknown value {value:?}")]
    BadValue { key: String, value: String },
    #[error("unterminated quote")]
    Unterminated,
    #[error("expected key=value, got {0:?}")]
    NotAssignment(String),
}

/// Parses `open` / `closed`.
pub fn parse_basic(s: &str) -> Option<Basic> {
    match s.to_ascii_lowercase().as_str() {
        "open" => Some(Basic::Open),
        "closed" => Some(Basic::Closed),
        _ => None,
    }
}

/// Splits a line into words, honouring double quotes (`note="gone home"`).
fn words(line: &str) -> Result<Vec<String>, StateLineError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(StateLineError::Unterminated);
    }
    if any {
        out.push(cur);
    }
    Ok(out)
}

impl PresenceState {
    /// Applies a line like `status=closed note="gone home" activity=away mood=happy`.
    /// `activity=` / `mood=` / `note=` with an empty value clear that field. The state is
    /// unchanged when the line has an error.
    pub fn apply_line(&mut self, line: &str) -> Result<(), StateLineError> {
        let mut next = self.clone();
        let mut cleared_activities = false;
        let mut cleared_mood = false;
        for word in words(line)? {
            let Some((key, value)) = word.split_once('=') else {
                return Err(StateLineError::NotAssignment(word));
            };
            let bad = || StateLineError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
            };
            match key.to_ascii_lowercase().as_str() {
                "status" => next.status = parse_basic(value).ok_or_else(bad)?,
                "note" => next.note = (!value.is_empty()).then(|| value.to_owned()),
                "activity" | "activities" => {
                    if !cleared_activities {
                        next.activities.clear();
                        cleared_activities = true;
                    }
                    for v in value.split(',').filter(|v| !v.is_empty()) {
                        next.activities.push(v.parse().map_err(|()| bad())?);
                    }
                }
                "mood" => {
                    if !cleared_mood {
                        next.mood.clear();
                        cleared_mood = true;
                    }
                    for v in value.split(',').filter(|v| !v.is_empty()) {
                        next.mood.push(v.parse().map_err(|()| bad())?);
                    }
                }
                other => return Err(StateLineError::UnknownKey(other.to_owned())),
            }
        }
        *self = next;
        Ok(())
    }

    /// The PIDF document for `entity` (RFC 3863, RFC 4479 data model): one tuple with the
    /// basic status and the note, one person with activities, mood and the note.
    pub fn to_document(&self, entity: &str) -> Presence {
        let mut doc = Presence::with_basic(entity, "t1", self.status);
        let notes: Vec<Note> = self.note.iter().map(Note::new).collect();
        if let Some(tuple) = doc.tuples.first_mut() {
            tuple.notes = notes.clone();
        }
        let mut details = Details::default();
        if !self.activities.is_empty() {
            details.activities = vec![Activities::of(self.activities.iter().copied())];
        }
        if !self.mood.is_empty() {
            details.mood = vec![Mood::of(self.mood.iter().copied())];
        }
        if !details.is_empty() || !notes.is_empty() {
            doc.persons.push(Person {
                id: "p1".to_owned(),
                details,
                notes,
                ..Person::default()
            });
        }
        doc
    }
}

/// What a watcher shows of a presence document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSummary {
    /// `open` when any tuple is open, `closed` when some tuple is closed, else `unknown`.
    pub basic: Option<Basic>,
    pub activities: Vec<String>,
    pub mood: Vec<String>,
    pub note: Option<String>,
}

impl PresenceSummary {
    pub fn of(doc: &Presence) -> PresenceSummary {
        let basic = if doc.is_open() {
            Some(Basic::Open)
        } else {
            doc.tuples.iter().find_map(|t| t.status.basic)
        };
        let mut activities = Vec::new();
        let mut mood = Vec::new();
        let details = doc
            .persons
            .iter()
            .map(|p| &p.details)
            .chain(doc.tuples.iter().map(|t| &t.details));
        for d in details {
            for a in d.activities.iter().flat_map(|a| a.known()) {
                let s = a.to_string();
                if !activities.contains(&s) {
                    activities.push(s);
                }
            }
            for m in d.mood.iter().flat_map(|m| m.known()) {
                let s = m.to_string();
                if !mood.contains(&s) {
                    mood.push(s);
                }
            }
        }
        let note = doc
            .persons
            .iter()
            .flat_map(|p| p.notes.iter())
            .chain(doc.tuples.iter().flat_map(|t| t.notes.iter()))
            .chain(doc.notes.iter())
            .map(|n| n.text.clone())
            .next();
        PresenceSummary {
            basic,
            activities,
            mood,
            note,
        }
    }

    /// `bob@example.test open activities=away,on-the-phone mood=happy note="back at 3"`,
    /// control characters escaped so a peer cannot drive the terminal.
    pub fn display_line(&self, who: &str) -> String {
        let mut line = format!("{who} {}", self.basic.map_or("unknown", |b| b.as_str()));
        if !self.activities.is_empty() {
            line.push_str(&format!(" activities={}", self.activities.join(",")));
        }
        if !self.mood.is_empty() {
            line.push_str(&format!(" mood={}", self.mood.join(",")));
        }
        if let Some(note) = &self.note {
            line.push_str(" note=\"");
            for c in note.chars() {
                if c.is_control() || c == '"' {
                    line.push_str(&c.escape_default().to_string());
                } else {
                    line.push(c);
                }
            }
            line.push('"');
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_edit_the_state() {
        let mut s = PresenceState::default();
        s.apply_line(r#"status=closed note="gone home" activity=away,on-the-phone mood=happy"#)
            .unwrap();
        assert_eq!(s.status, Basic::Closed);
        assert_eq!(s.note.as_deref(), Some("gone home"));
        assert_eq!(s.activities, [Activity::Away, Activity::OnThePhone]);
        assert_eq!(s.mood, [MoodValue::Happy]);
        let before = s.clone();
        assert!(s.apply_line("status=maybe").is_err());
        assert!(s.apply_line("colour=red").is_err());
        assert!(s.apply_line("note=\"open").is_err());
        assert_eq!(s, before);
        s.apply_line("note= activity=").unwrap();
        assert_eq!(s.note, None);
        assert!(s.activities.is_empty());
    }

    #[test]
    fn the_document_round_trips_to_the_summary() {
        let mut s = PresenceState::default();
        s.apply_line(r#"activity=busy mood=happy note="in a meeting""#)
            .unwrap();
        let doc = s.to_document("sip:alice@example.test");
        let parsed = Presence::parse(doc.to_xml().as_bytes()).unwrap();
        let summary = PresenceSummary::of(&parsed);
        assert_eq!(
            summary.display_line("alice@example.test"),
            r#"alice@example.test open activities=busy mood=happy note="in a meeting""#
        );
        let closed = PresenceState {
            status: Basic::Closed,
            ..PresenceState::default()
        };
        let summary = PresenceSummary::of(&closed.to_document("sip:a@b"));
        assert_eq!(summary.display_line("a@b"), "a@b closed");
    }
}
