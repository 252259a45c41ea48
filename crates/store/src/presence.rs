//! The records of the presence server (issue 4, "Durability"): event-state publications
//! (RFC 3903), subscriptions on the notifier side (RFC 6665) with their dialogs, and the
//! per-watcher authorizations a presentity gave (the `confirm` policy). Validation shared by
//! every implementation lives here too.

use crate::address::Address;
use crate::error::StoreError;
use crate::model::{Source, Timestamp};

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn text(field: &'static str, s: &str) -> Result<(), StoreError> {
    if s.is_empty() || has_control(s) {
        return Err(StoreError::invalid(
            field,
            "empty or has control characters",
        ));
    }
    Ok(())
}

/// An entity tag (RFC 3903 §4.1) or a subscription id: non-empty, no whitespace or control
/// characters.
fn token(field: &'static str, s: &str) -> Result<(), StoreError> {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::invalid(field, "empty or has whitespace"));
    }
    Ok(())
}

fn source(s: Option<&Source>) -> Result<(), StoreError> {
    match s {
        Some(s)
            if s.transport.is_empty() || !s.transport.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            Err(StoreError::invalid("transport", "not a lowercase name"))
        }
        _ => Ok(()),
    }
}

// ---- publications (RFC 3903) ----

/// A document to publish (an initial PUBLISH, RFC 3903 §4.1); the store assigns the
/// [`Publication::sequence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublication {
    pub presentity: Address,
    /// The entity tag the server chose; unique among all stored publications.
    pub etag: String,
    /// The event package, e.g. `presence`.
    pub event: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub expires_at: Timestamp,
    /// When the document arrived (becomes [`Publication::modified_at`]).
    pub modified_at: Timestamp,
}

impl NewPublication {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        token("entity tag", &self.etag)?;
        text("event package", &self.event)?;
        text("content type", &self.content_type)
    }
}

/// A stored publication: one piece of event state of a presentity, named by its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub presentity: Address,
    pub etag: String,
    pub event: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub expires_at: Timestamp,
    /// When the current document arrived (initial PUBLISH or the last modify; a refresh
    /// keeps it).
    pub modified_at: Timestamp,
    /// Arrival order of the current document among all publications: assigned by the store
    /// on insert and on modify (not on refresh), larger is newer. Survives restarts.
    pub sequence: u64,
}

impl Publication {
    /// Whether the publication is live at `now` (it expires at `expires_at` exactly).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}

/// A new document for a publication (a modify, RFC 3903 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationBody {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What a PUBLISH with `SIP-If-Match` changes (RFC 3903 §4.4: every successful refresh or
/// modify gets a new entity tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationUpdate {
    /// The entity tag that replaces the one matched.
    pub new_etag: String,
    pub expires_at: Timestamp,
    /// `Some`: a modify (the document is replaced, `modified_at` becomes `now` and a new
    /// sequence is assigned); `None`: a refresh (the document is kept).
    pub body: Option<PublicationBody>,
}

impl PublicationUpdate {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        token("entity tag", &self.new_etag)?;
        if let Some(b) = &self.body {
            text("content type", &b.content_type)?;
        }
        Ok(())
    }
}

// ---- subscriptions (RFC 6665) ----

/// The state of a subscription (RFC 6665 §4.1.3, `Subscription-State`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    Pending,
    Active,
    /// Ended, with the reason sent (`timeout`, `rejected`, `deactivated`, …), if any.
    Terminated {
        reason: Option<String>,
    },
}

impl SubscriptionState {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        match self {
            SubscriptionState::Terminated {
                reason: Some(reason),
            } => token("termination reason", reason),
            _ => Ok(()),
        }
    }
}

/// Identifies a subscription dialog from the notifier's side (RFC 3261 §12: Call-ID, local
/// tag, remote tag). RFC 6665 §4.5.2 also uses the `Event` id, see [`Subscription::id`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DialogId {
    pub call_id: String,
    /// Our tag (the `To` tag of the SUBSCRIBE, the `From` tag of our NOTIFYs).
    pub local_tag: String,
    /// The watcher's tag.
    pub remote_tag: String,
}

/// The dialog state of a subscription kept by the notifier (RFC 3261 §12.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionDialog {
    pub id: DialogId,
    /// The CSeq of our last NOTIFY; see [`crate::SubscriptionStore::next_local_cseq`].
    pub local_cseq: u32,
    /// The CSeq of the watcher's last SUBSCRIBE.
    pub remote_cseq: u32,
    /// Our URI in the dialog (the `From` of our NOTIFYs, without tag).
    pub local_uri: String,
    /// The watcher's URI (the `To` of our NOTIFYs, without tag).
    pub remote_uri: String,
    /// The watcher's Contact: the Request-URI of our NOTIFYs.
    pub remote_target: String,
    /// Our Contact URI, sent in NOTIFYs.
    pub local_contact: String,
    /// The route set, in the order NOTIFYs use it (`Record-Route` of the SUBSCRIBE).
    pub route_set: Vec<String>,
    /// Whether the dialog was created over TLS with a `sips` Request-URI.
    pub secure: bool,
}

/// A subscription held by the notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Chosen by the server; unique among stored subscriptions.
    pub id: String,
    /// The event package (`presence`, `presence.winfo`, …) with its `id` parameter if any,
    /// as the server chooses to key it.
    pub event: String,
    pub watcher: Address,
    pub watcher_display_name: Option<String>,
    /// The presentity or resource watched.
    pub resource: Address,
    pub dialog: SubscriptionDialog,
    pub state: SubscriptionState,
    pub expires_at: Timestamp,
    /// Where the SUBSCRIBE came from (NOTIFYs go back over that connection while it lives).
    pub source: Option<Source>,
    /// The version of the last watcher-information document sent (RFC 3857 §5.2); 0 for
    /// other packages or before the first NOTIFY.
    pub winfo_version: u32,
    pub created_at: Timestamp,
}

impl Subscription {
    /// Whether the subscription is live at `now` (it expires at `expires_at` exactly).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        token("subscription id", &self.id)?;
        text("event package", &self.event)?;
        if self
            .watcher_display_name
            .as_deref()
            .is_some_and(has_control)
        {
            return Err(StoreError::invalid(
                "display name",
                "has control characters",
            ));
        }
        let d = &self.dialog;
        text("Call-ID", &d.id.call_id)?;
        text("local tag", &d.id.local_tag)?;
        text("remote tag", &d.id.remote_tag)?;
        text("local URI", &d.local_uri)?;
        text("remote URI", &d.remote_uri)?;
        text("remote target", &d.remote_target)?;
        text("local contact", &d.local_contact)?;
        if d.route_set.iter().any(|r| r.is_empty() || has_control(r)) {
            return Err(StoreError::invalid(
                "route set",
                "empty or has control characters",
            ));
        }
        self.state.validate()?;
        source(self.source.as_ref())
    }
}

/// A change to a stored subscription (a refresh, an authorization decision, a termination);
/// `None` fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionUpdate {
    pub state: Option<SubscriptionState>,
    pub expires_at: Option<Timestamp>,
    /// The CSeq of a refreshing SUBSCRIBE.
    pub remote_cseq: Option<u32>,
    /// A new Contact from a refreshing SUBSCRIBE (target refresh, RFC 6665 §4.1.2.1).
    pub remote_target: Option<String>,
    /// Where the refreshing SUBSCRIBE came from.
    pub source: Option<Source>,
}

impl SubscriptionUpdate {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if let Some(state) = &self.state {
            state.validate()?;
        }
        if let Some(target) = &self.remote_target {
            text("remote target", target)?;
        }
        source(self.source.as_ref())
    }

    pub(crate) fn apply(&self, s: &mut Subscription) {
        if let Some(state) = &self.state {
            s.state = state.clone();
        }
        if let Some(t) = self.expires_at {
            s.expires_at = t;
        }
        if let Some(c) = self.remote_cseq {
            s.dialog.remote_cseq = c;
        }
        if let Some(t) = &self.remote_target {
            s.dialog.remote_target = t.clone();
        }
        if let Some(src) = &self.source {
            s.source = Some(src.clone());
        }
    }
}

// ---- authorizations ----

/// What a presentity decided about a watcher (RFC 5025 §3.2.1 `sub-handling`, the subset
/// kept per watcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherDecision {
    /// The watcher sees the presentity's state.
    Allow,
    /// Subscriptions are rejected.
    Block,
    /// Subscriptions are accepted but the watcher sees nothing (RFC 5025 `polite-block`).
    PoliteBlock,
}

/// A stored decision: `presentity` decided `decision` about `watcher`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherAuthorization {
    pub presentity: Address,
    pub watcher: Address,
    pub decision: WatcherDecision,
}
