//! The store's error type. Variants say whose fault it is: the caller's input (`UserExists`,
//! `UserNotFound`, `MessageNotFound`, `QueueFull`, `InvalidAddress`, `InvalidValue`), or the
//! environment / our own data (`Backend`, `Corrupt`, `SchemaTooNew`, `Closed`).

use crate::address::{Address, AddressError};
use crate::model::MessageId;

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
