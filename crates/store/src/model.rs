//! The domain records kept by the store, with the validation every implementation applies
//! before writing.

use std::fmt;
use std::net::SocketAddr;

use crate::address::Address;
use crate::error::StoreError;

/// Wall-clock time as unix milliseconds. The store never reads the clock: every operation
/// that depends on time takes `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Largest representable time (fits an SQL `BIGINT`).
    pub const MAX: Timestamp = Timestamp(i64::MAX as u64);

    pub fn from_unix_millis(ms: u64) -> Timestamp {
        Timestamp(ms.min(Timestamp::MAX.0))
    }

    pub fn from_unix_secs(s: u64) -> Timestamp {
        Timestamp::from_unix_millis(s.saturating_mul(1000))
    }

    pub fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds, rounded down.
    pub fn as_unix_secs(self) -> u64 {
        self.0 / 1000
    }

    pub fn saturating_add_millis(self, ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(self.0.saturating_add(ms))
    }

    pub fn saturating_add_secs(self, s: u64) -> Timestamp {
        self.saturating_add_millis(s.saturating_mul(1000))
    }

    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The digest `HA1` values of a user for their realm (RFC 7616 §3.4.2, RFC 8760): the
/// password itself is never stored. Computed by `parley_sip::auth::Ha1s::compute`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1Set {
    pub realm: String,
    /// `MD5(user:realm:password)`, 32 lowercase hex digits.
    pub md5: String,
    /// `SHA-256(user:realm:password)`, 64 lowercase hex digits.
    pub sha256: String,
}

impl fmt::Debug for Ha1Set {
    /// The hashes are password-equivalent for the realm: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ha1Set")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Ha1Set {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let hex = |s: &str, len| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if self.realm.is_empty() || has_control(&self.realm) {
            return Err(StoreError::invalid(
                "realm",
                "empty or has control characters",
            ));
        }
        if !hex(&self.md5, 32) {
            return Err(StoreError::invalid(
                "MD5 HA1",
                "not 32 lowercase hex digits",
            ));
        }
        if !hex(&self.sha256, 64) {
            return Err(StoreError::invalid(
                "SHA-256 HA1",
                "not 64 lowercase hex digits",
            ));
        }
        Ok(())
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub address: Address,
    pub ha1: Ha1Set,
}

/// Where a binding's REGISTER came from (RFC 3261 §18.2.1 `received`, RFC 5626 flows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Lowercase transport name: `udp`, `tcp`, `tls`, `ws`, `wss`.
    pub transport: String,
    /// The peer's address as seen by the server.
    pub address: SocketAddr,
    /// The connection the REGISTER arrived on (TCP, TLS, WebSocket), so that requests can go
    /// back over it while it lives. Connection ids are only meaningful within one server
    /// process: after a restart the binding still carries the old id, which matches no live
    /// connection, and the caller falls back to `address`.
    pub connection_id: Option<u64>,
}

/// One registration binding (RFC 3261 §10): an address of record mapped to a contact.
/// Keyed by `(aor, contact)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub aor: Address,
    /// The Contact URI as the registrar canonicalised it; compared byte for byte.
    pub contact: String,
    /// The `q` parameter in thousandths (0–1000), `None` when absent (RFC 3261 §20.10).
    pub q: Option<u16>,
    pub expires_at: Timestamp,
    pub call_id: String,
    pub cseq: u32,
    /// `+sip.instance` (RFC 5626 §4.1).
    pub instance_id: Option<String>,
    /// `reg-id` (RFC 5626 §4.2).
    pub reg_id: Option<u32>,
    /// `Path` header values, in order (RFC 3327).
    pub path: Vec<String>,
    pub source: Option<Source>,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Whether the binding is live at `now` (it expires at `expires_at` exactly).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let bad = StoreError::invalid;
        if self.contact.is_empty() || has_control(&self.contact) {
            return Err(bad("contact", "empty or has control characters"));
        }
        if self.q.is_some_and(|q| q > 1000) {
            return Err(bad("q", "above 1000 thousandths"));
        }
        if self.call_id.is_empty() || has_control(&self.call_id) {
            return Err(bad("Call-ID", "empty or has control characters"));
        }
        if self.path.iter().any(|p| p.is_empty() || has_control(p)) {
            return Err(bad("Path", "empty or has control characters"));
        }
        let optional = [self.instance_id.as_deref(), self.user_agent.as_deref()];
        if optional.into_iter().flatten().any(has_control) {
            return Err(bad("instance-id or User-Agent", "has control characters"));
        }
        if let Some(s) = &self.source {
            if s.transport.is_empty() || !s.transport.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(bad("transport", "not a lowercase name"));
            }
        }
        Ok(())
    }
}

/// One change to the bindings of an AOR; [`crate::RegistrationStore::update_bindings`]
/// applies a list of them atomically.
// A REGISTER carries a handful of changes, built once and read once: boxing the binding
// would only add an allocation per change.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Add the binding, or replace the one with the same contact.
    Upsert(Binding),
    /// Remove the binding with this contact, if any.
    Remove { contact: String },
    /// Remove every binding of the AOR (`Contact: *`, RFC 3261 §10.2.2).
    RemoveAll,
}

/// The changes a REGISTER makes, given the bindings live before it
/// ([`crate::RegistrationStore::register`]); none writes nothing.
pub type BindingPlan = Box<dyn FnOnce(&[Binding]) -> Vec<BindingChange> + Send>;

/// Told how a [`crate::RegistrationStore::register`] went, once it is durable.
pub type RegisterDone = Box<dyn FnOnce(Result<Registered, StoreError>) + Send>;

/// Told the outcome of a write submitted without waiting (`submit_*` methods), once it is
/// durable or has failed.
pub type Done<T> = Box<dyn FnOnce(Result<T, StoreError>) + Send>;

/// The outcome of a [`crate::RegistrationStore::register`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The bindings live afterwards, ordered by contact (the ones before it when nothing
    /// changed).
    pub bindings: Vec<Binding>,
    /// The bindings live before, when the plan changed anything (empty otherwise: then they
    /// are `bindings`).
    pub previous: Vec<Binding>,
    /// Whether the plan changed anything.
    pub changed: bool,
    /// Whether offline messages may be waiting for the address of record (`true` when the
    /// store cannot tell cheaply).
    pub messages_waiting: bool,
}

/// Identifies a stored offline message; assigned by the store, increasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A MESSAGE to store for later delivery (RFC 3428 §7: a recipient's server may store it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOfflineMessage {
    /// The From URI (or name-addr) to present on delivery.
    pub sender: String,
    pub recipient: Address,
    pub content_type: String,
    pub body: Vec<u8>,
    /// When the server accepted it (becomes the `Date` of the delivery).
    pub received_at: Timestamp,
}

impl NewOfflineMessage {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.sender.is_empty() || has_control(&self.sender) {
            return Err(StoreError::invalid(
                "sender",
                "empty or has control characters",
            ));
        }
        if self.content_type.is_empty() || has_control(&self.content_type) {
            return Err(StoreError::invalid(
                "content type",
                "empty or has control characters",
            ));
        }
        Ok(())
    }
}

/// A stored offline message with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineMessage {
    pub id: MessageId,
    pub sender: String,
    pub recipient: Address,
    pub content_type: String,
    pub body: Vec<u8>,
    pub received_at: Timestamp,
    /// Delivery attempts that did not end in a 2xx.
    pub attempts: u32,
    /// When to try again; `None`: when the recipient next registers.
    pub next_attempt_at: Option<Timestamp>,
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}
