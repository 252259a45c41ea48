//! # parley-store
//!
//! The durable domain state of Parley behind typed traits (DESIGN.md "Storage"):
//! [`UserStore`] (accounts and their digest `HA1`s), [`RegistrationStore`] (the location
//! service of RFC 3261 §10), [`OfflineMessageStore`] (RFC 3428 store-and-forward),
//! [`PublicationStore`] (RFC 3903 event state), [`SubscriptionStore`] (RFC 6665 subscriptions
//! with their dialogs, so NOTIFYs resume after a restart) and [`AuthorizationStore`]
//! (per-watcher decisions of the `confirm` policy), bundled as [`Store`]. Two implementations pass one conformance suite (`tests/conformance/`):
//! [`MemoryStore`] for tests and [`SqliteStore`], the embedded default. PostgreSQL comes later
//! behind the same traits, which therefore speak only in model types: addresses, strings,
//! integers and [`Timestamp`]s (unix milliseconds). The store never reads the clock: `now` is
//! an argument.
//!
//! ## Blocking, threads and durability
//!
//! The traits are **synchronous**: a call returns when the operation is done, and for a write
//! that means *committed to disk* — the caller may then acknowledge it (DESIGN.md "Acknowledge
//! only what is durable"). Calls may therefore block for a disk flush. From async code (the
//! server runs on tokio), call them through `tokio::task::spawn_blocking` or from a task that
//! owns a dedicated thread; never directly on a runtime worker. This crate itself depends on no
//! async runtime.
//!
//! [`SqliteStore`] runs every write on **one writer thread** that batches the writes queued
//! while the previous commit was flushing into a single transaction (group commit), each in its
//! own savepoint so one failure does not undo its neighbours; replies go out after the commit.
//! Reads use a second connection and run concurrently with writes (WAL).
//!
//! Every operation is atomic; on error nothing changed. Errors are typed ([`StoreError`]) and
//! say whether the caller's input (`UserExists`, `QueueFull`, …) or the environment
//! (`Backend`, `Corrupt`) is at fault.

pub mod address;
pub mod error;
pub mod memory;
pub mod model;
pub mod presence;
pub mod restore;
pub mod sqlite;
pub mod traits;

pub use address::{Address, AddressError};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use model::{
    Binding, BindingChange, BindingPlan, Done, Ha1Set, MessageId, NewOfflineMessage,
    OfflineMessage, RegisterDone, Registered, Source, Timestamp, User,
};
pub use presence::{
    DialogId, NewPublication, Publication, PublicationBody, PublicationUpdate, Subscription,
    SubscriptionDialog, SubscriptionState, SubscriptionUpdate, WatcherAuthorization,
    WatcherDecision,
};
pub use restore::RestoreStore;
pub use sqlite::SqliteStore;
pub use traits::{
    AuthorizationStore, OfflineMessageStore, PublicationStore, RegistrationStore, Store,
    SubscriptionStore, UserStore,
};

/// Checks a binding to upsert under `aor` (shared by the implementations).
fn check_upsert(aor: &Address, binding: &Binding) -> Result<(), StoreError> {
    if &binding.aor != aor {
        return Err(StoreError::invalid(
            "binding",
            "its AOR differs from the AOR being updated",
        ));
    }
    binding.validate()
}

/// The bindings live at `now` after `changes` are applied to the live bindings `before`,
/// ordered by contact: what reading them back from the store would give (contacts compare
/// byte for byte there too), without reading them back.
fn apply_in_memory(
    mut before: Vec<Binding>,
    changes: Vec<BindingChange>,
    now: Timestamp,
) -> Vec<Binding> {
    for change in changes {
        match change {
            BindingChange::Upsert(b) => {
                before.retain(|x| x.contact != b.contact);
                before.push(b);
            }
            BindingChange::Remove { contact } => before.retain(|x| x.contact != contact),
            BindingChange::RemoveAll => before.clear(),
        }
    }
    before.retain(|b| b.is_live(now));
    before.sort_by(|a, b| a.contact.cmp(&b.contact));
    before
}
