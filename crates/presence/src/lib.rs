//! Presence documents and the state a presence server keeps for them, without I/O.
//!
//! This crate is sans-IO: it never reads a clock (time is a [`UnixMillis`] argument), never
//! touches the network or storage, and owns no tasks. The server's presence shard calls it.
//!
//! | module | what | RFCs |
//! |---|---|---|
//! | [`pidf`] | [`Presence`] documents: PIDF with person, device, service | 3863, 4479 |
//! | [`details`] | RPID, CIPID and timed-status elements of a person, device or tuple | 4480, 4482, 4481 |
//! | [`xml`] | the namespace-resolved tree unknown extensions are kept as; parse [`Limits`] | |
//! | [`publish`] | [`Publications`]: entity-tags, expiry, refresh/modify/remove, `412`/`423` | 3903 |
//! | [`compose`](mod@compose) | several publications → one document for watchers (**the rule is documented there**) | 3903 §4, 4479 |
//! | [`policy`] | who may watch and what they see: [`PolicyEngine`], [`Decision`] | 5025 (later) |
//! | [`winfo`] | watcher information documents and their versions | 3857, 3858 |
//! | [`package`] | the [`EventPackage`] trait: `presence`, `presence.winfo` | 6665, 3856 |
//!
//! Bodies are typed at the edge: [`Presence::parse`] and [`WatcherInfo::parse`] check size,
//! depth, element and attribute counts while reading and refuse with a [`ParseError`] whose
//! text can be a `400` reason phrase; printing ([`Presence::to_xml`]) is a pure function of the
//! model, with fixed prefixes. Extension elements and attributes that are not typed are kept
//! verbatim and printed back.
//!
//! ```
//! use parley_presence::{Presence, Basic};
//! let body = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
//!   <tuple id="t1"><status><basic>open</basic></status></tuple></presence>"#;
//! let doc = Presence::parse(body)?;
//! assert_eq!(doc.tuples[0].status.basic, Some(Basic::Open));
//! assert_eq!(Presence::parse(doc.to_xml().as_bytes())?, doc);
//! # Ok::<(), parley_presence::ParseError>(())
//! ```

#![forbid(unsafe_code)]

pub mod compose;
pub mod details;
mod error;
mod etag;
pub mod ns;
pub mod package;
pub mod pidf;
pub mod policy;
pub mod publish;
mod time;
pub mod winfo;
pub mod xml;

pub use compose::{compose, compose_publications, default_document, presence_for, Source};
pub use error::ParseError;
pub use etag::{EntityTag, EntityTagSource, SeededEntityTags};
pub use package::{Body, EventPackage, PresencePackage, WinfoPackage};
pub use pidf::{
    Basic, Contact, Device, Note, Person, Presence, Priority, Status, Tuple, PIDF_CONTENT_TYPE,
};
pub use policy::{
    AuthorizationRules, Decision, Party, PolicyEngine, SubHandling, SubscriptionPolicy, Visibility,
};
pub use publish::{
    Change, ExpiryLimits, IntervalTooBrief, Publication, PublicationLimits, Publications,
    PublishError, PublishRequest, Published,
};
pub use time::{Timestamp, UnixMillis};
pub use winfo::{WatcherInfo, WATCHERINFO_CONTENT_TYPE};
pub use xml::Limits;
