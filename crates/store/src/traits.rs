//! The typed domain traits. Every implementation passes the conformance suite in
//! `tests/conformance/`.
//!
//! All methods are synchronous and may block (on a lock, a disk write, or a network round
//! trip for a database server); see the crate docs for calling them from async code. Each
//! method is atomic: when it returns an error, nothing changed. When it returns `Ok` after a
//! write, the write is durable (DESIGN.md "Acknowledge only what is durable").

use crate::address::Address;
use crate::error::StoreError;
use crate::model::{
    Binding, BindingChange, Ha1Set, MessageId, NewOfflineMessage, OfflineMessage, Timestamp, User,
};

/// User accounts and their digest secrets.
pub trait UserStore {
    /// Adds a user. [`StoreError::UserExists`] if the address is taken.
    fn add_user(&self, user: &User) -> Result<(), StoreError>;

    /// Replaces a user's `HA1` values (a password change). [`StoreError::UserNotFound`] if
    /// there is no such user.
    fn set_ha1(&self, address: &Address, ha1: &Ha1Set) -> Result<(), StoreError>;

    /// Removes a user with their bindings and offline messages.
    /// [`StoreError::UserNotFound`] if there is no such user.
    fn remove_user(&self, address: &Address) -> Result<(), StoreError>;

    /// The user with this address, if any.
    fn user(&self, address: &Address) -> Result<Option<User>, StoreError>;

    /// All users, ordered by address.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
}

/// Registration bindings (the location service of RFC 3261 §10).
pub trait RegistrationStore {
    /// Applies `changes` to the bindings of `aor` in order, all or nothing (RFC 3261 §10.3
    /// step 8), and returns the bindings live at `now` afterwards, ordered by contact. Every
    /// upserted binding must have `aor` as its AOR ([`StoreError::InvalidValue`] otherwise).
    fn update_bindings(
        &self,
        aor: &Address,
        changes: &[BindingChange],
        now: Timestamp,
    ) -> Result<Vec<Binding>, StoreError>;

    /// Adds or replaces one binding (keyed by AOR and contact).
    fn upsert_binding(&self, binding: &Binding) -> Result<(), StoreError> {
        self.update_bindings(
            &binding.aor,
            &[BindingChange::Upsert(binding.clone())],
            Timestamp::default(),
        )
        .map(drop)
    }

    /// Removes one binding; whether it existed.
    fn remove_binding(&self, aor: &Address, contact: &str) -> Result<bool, StoreError>;

    /// Removes every binding of `aor`; how many there were.
    fn remove_all_bindings(&self, aor: &Address) -> Result<usize, StoreError>;

    /// The bindings of `aor` live at `now` (expiring after it), ordered by contact.
    fn live_bindings(&self, aor: &Address, now: Timestamp) -> Result<Vec<Binding>, StoreError>;

    /// Removes the bindings of all AORs that are no longer live at `now` and returns them,
    /// ordered by AOR and contact.
    fn purge_expired_bindings(&self, now: Timestamp) -> Result<Vec<Binding>, StoreError>;
}

/// Offline messages kept for store-and-forward delivery (RFC 3428 §7).
pub trait OfflineMessageStore {
    /// Stores a message unless its recipient already has `limit` or more pending
    /// ([`StoreError::QueueFull`]); the check and the insert are atomic.
    fn enqueue_message(
        &self,
        message: &NewOfflineMessage,
        limit: usize,
    ) -> Result<MessageId, StoreError>;

    /// The messages pending for `recipient`, oldest first (by receive time, then id).
    fn pending_messages(&self, recipient: &Address) -> Result<Vec<OfflineMessage>, StoreError>;

    /// How many messages are pending for `recipient`.
    fn count_pending(&self, recipient: &Address) -> Result<usize, StoreError>;

    /// At most `limit` messages of any recipient whose retry time has come (`next_attempt_at
    /// <= now`), oldest first.
    fn due_messages(&self, now: Timestamp, limit: usize)
        -> Result<Vec<OfflineMessage>, StoreError>;

    /// Records a failed delivery attempt: increments the attempt count and sets the next retry
    /// time (`None`: wait for the next registration). Returns the new attempt count;
    /// [`StoreError::MessageNotFound`] if the message is gone.
    fn record_delivery_attempt(
        &self,
        id: MessageId,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<u32, StoreError>;

    /// Deletes a message (after a 2xx from the recipient); whether it existed.
    fn delete_message(&self, id: MessageId) -> Result<bool, StoreError>;
}

/// Everything the server keeps durably. Implemented by [`crate::MemoryStore`] and
/// [`crate::SqliteStore`]; share it as `Arc<dyn Store>`.
pub trait Store: UserStore + RegistrationStore + OfflineMessageStore + Send + Sync {}

impl<T: UserStore + RegistrationStore + OfflineMessageStore + Send + Sync> Store for T {}
