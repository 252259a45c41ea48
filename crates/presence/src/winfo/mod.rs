//! Watcher information (RFC 3857 event package `presence.winfo`, RFC 3858 document format
//! `application/watcherinfo+xml`): who watches a resource and in what state.
//!
//! [`WatcherInfo`] is the document model with its parser and printer; [`WinfoNotifier`] numbers
//! the documents of one winfo subscription (full first, then partial); [`WatcherInfoView`] is the
//! subscriber side that merges them back into tables (RFC 3858 §4).

mod versions;
mod xml;

pub use versions::{Applied, WatcherInfoView, WinfoNotifier};

use crate::error::ParseError;
use crate::xml::{Element, Limits};

/// `application/watcherinfo+xml` (RFC 3858 §7.1).
pub const WATCHERINFO_CONTENT_TYPE: &str = "application/watcherinfo+xml";

/// Whether a document carries all watchers or only changes (RFC 3858 §4 `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocState {
    /// The complete state: the receiver flushes its tables.
    Full,
    /// Only the watchers that changed since the previous document.
    Partial,
}

/// `<watcherinfo>` (RFC 3858 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherInfo {
    /// Starts at 0 and grows by one per document of a subscription; 32-bit, never wraps.
    pub version: u32,
    /// Full or partial.
    pub state: DocState,
    /// One list per watched resource and package.
    pub lists: Vec<WatcherList>,
    /// Elements from other namespaces, kept verbatim.
    pub extensions: Vec<Element>,
}

/// `<watcher-list>`: the watchers of one resource for one event package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherList {
    /// `resource`: the watched URI.
    pub resource: String,
    /// `package`: e.g. `presence`.
    pub package: String,
    /// The watchers.
    pub watchers: Vec<Watcher>,
}

/// A watcher's subscription state (RFC 3857 §3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherStatus {
    /// Awaiting authorization.
    Pending,
    /// Authorized and receiving notifications.
    Active,
    /// Rejected or expired recently, but of interest: the watcher tried and is waiting.
    Waiting,
    /// Over.
    Terminated,
}

/// The event that moved a watcher into its state (RFC 3857 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherEvent {
    /// A subscription was received.
    Subscribe,
    /// The presentity approved the watcher.
    Approved,
    /// Terminated; the watcher should subscribe again.
    Deactivated,
    /// Terminated; the watcher should retry later.
    Probation,
    /// The presentity refused the watcher.
    Rejected,
    /// The subscription expired.
    Timeout,
    /// Waiting for authorization took too long.
    Giveup,
    /// The watched resource no longer exists.
    Noresource,
}

/// `<watcher>` (RFC 3858 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// `id`: stable across documents for one subscription (the receiver indexes rows by it).
    pub id: String,
    /// The watcher's URI (element content).
    pub uri: String,
    /// `status`.
    pub status: WatcherStatus,
    /// `event`.
    pub event: WatcherEvent,
    /// `display-name`.
    pub display_name: Option<String>,
    /// `expiration`: seconds until the subscription expires.
    pub expiration: Option<u64>,
    /// `duration-subscribed`: seconds the watcher has been subscribed.
    pub duration_subscribed: Option<u64>,
    /// `xml:lang` of the display name.
    pub lang: Option<String>,
}

macro_rules! text_enum {
    ($t:ident, $what:literal, { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            /// The value as written in XML.
            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s,)* }
            }

            /// Parses the XML value.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                match s.trim() {
                    $($s => Ok($t::$v),)*
                    other => Err(ParseError::InvalidValue { what: $what, value: crate::time::truncate(other) }),
                }
            }
        }
    };
}

text_enum!(DocState, "watcherinfo state", { Full = "full", Partial = "partial" });
text_enum!(WatcherStatus, "watcher status", { Pending = "pending", Active = "active", Waiting = "waiting", Terminated = "terminated" });
text_enum!(WatcherEvent, "watcher event", {
    Subscribe = "subscribe", Approved = "approved", Deactivated = "deactivated", Probation = "probation",
    Rejected = "rejected", Timeout = "timeout", Giveup = "giveup", Noresource = "noresource",
});

impl WatcherInfo {
    /// Parses an `application/watcherinfo+xml` body with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        Self::parse_with(body, &Limits::default())
    }

    /// Parses an `application/watcherinfo+xml` body within `limits`.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        xml::read(&crate::xml::parse_tree(body, limits)?)
    }

    /// Prints the document.
    pub fn to_xml(&self) -> String {
        crate::xml::write_document(&xml::write(self))
    }
}
