//! The store's error type. Variants say whose fault it is: the caller's input (`UserExists`,
//! `UserNotFound`, `MessageNotFound`, `QueueFull`, `PublicationNotFound`, `SubscriptionLimit`,
//! `InvalidAddress`, `InvalidValue`, …), or the environment / our own data (`Backend`,
//! `Corrupt`, `SchemaTooNew`, `Closed`).

use crate::address::{Address, AddressError};
use crate::model::MessageId;
use crate::presence::DialogId;

/// An error from a [`crate::Store`] operation. A failed operation changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("user {0} already exists")]
    UserExists(Address),
    #[error("user {0} does not exist")]
    UserNotFound(Address),
    #[error("offline message {0} does not exist")]
    MessageNotFound(MessageId),
    /// The per-recipient cap of offline messages is reached (DESIGN.md "Bounded everything").
    #[error("offline message queue of {recipient} is full ({limit} messages)")]
    QueueFull { recipient: Address, limit: usize },
    /// An initial PUBLISH chose an entity tag that is already stored.
    #[error("publication {0} already exists")]
    PublicationExists(String),
    /// No publication has this entity tag (RFC 3903 §6: answer `412`).
    #[error("publication {0} does not exist")]
    PublicationNotFound(String),
    /// The publication with this entity tag has expired (RFC 3903 §6: answer `412`).
    #[error("publication {0} has expired")]
    PublicationExpired(String),
    /// A subscription with this id is already stored.
    #[error("subscription {0} already exists")]
    SubscriptionExists(String),
    /// A subscription with the same dialog (Call-ID and tags) is already stored.
    #[error("a subscription of dialog {0:?} already exists")]
    DialogExists(DialogId),
    #[error("subscription {0} does not exist")]
    SubscriptionNotFound(String),
    /// The watcher already has `limit` live subscriptions (DESIGN.md "Bounded everything").
    #[error("{watcher} already has {limit} subscriptions")]
    SubscriptionLimit { watcher: Address, limit: usize },
    #[error(transparent)]
    InvalidAddress(#[from] AddressError),
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        field: &'static str,
        reason: &'static str,
    },
    /// A stored value no longer satisfies the model's rules (edited by hand, or a bug).
    #[error("stored {what} is corrupt")]
    Corrupt { what: &'static str },
    /// The database was written by a newer Parley.
    #[error("database schema version {found} is newer than this program supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// The database or file system failed.
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The store's writer has stopped (it panicked or the store is being dropped).
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> StoreError {
        StoreError::InvalidValue { field, reason }
    }
}
