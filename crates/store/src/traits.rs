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
    Binding, BindingChange, BindingPlan, Done, Ha1Set, MessageId, NewOfflineMessage,
    OfflineMessage, RegisterDone, Registered, Timestamp, User,
};
use crate::presence::{
    DialogId, NewPublication, Publication, PublicationUpdate, Subscription, SubscriptionUpdate,
    WatcherAuthorization, WatcherDecision,
};

/// User accounts and their digest secrets.
pub trait UserStore {
    /// Adds a user. [`StoreError::UserExists`] if the address is taken.
    fn add_user(&self, user: &User) -> Result<(), StoreError>;

    /// Replaces a user's `HA1` values (a password change). [`StoreError::UserNotFound`] if
    /// there is no such user.
    fn set_ha1(&self, address: &Address, ha1: &Ha1Set) -> Result<(), StoreError>;

    /// Removes a user with their bindings, offline messages and the watcher authorizations
    /// they gave (publications and subscriptions expire on their own).
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

    /// A whole REGISTER (RFC 3261 §10.3 steps 6–8) as one atomic step: reads the bindings of
    /// `aor` live at `now`, applies the changes `plan` makes of them, and calls `done` once
    /// they are durable, with the bindings live afterwards. Unlike the other methods it need
    /// not block its caller: `done` may run later, on another thread (SQLite runs it all on
    /// its writer thread, in the next group commit). The default runs everything on the
    /// caller's thread.
    fn register(&self, aor: &Address, now: Timestamp, plan: BindingPlan, done: RegisterDone) {
        let result = self.live_bindings(aor, now).and_then(|existing| {
            let changes = plan(&existing);
            if changes.is_empty() {
                return Ok(Registered {
                    messages_waiting: !existing.is_empty(),
                    bindings: existing,
                    previous: Vec::new(),
                    changed: false,
                });
            }
            let bindings = self.update_bindings(aor, &changes, now)?;
            Ok(Registered {
                messages_waiting: !bindings.is_empty(),
                bindings,
                previous: existing,
                changed: true,
            })
        });
        done(result);
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

/// Event-state publications (RFC 3903). A publication is live while `expires_at > now`;
/// expired ones stay stored (and are answered as expired) until purged.
pub trait PublicationStore {
    /// Stores an initial publication and returns it with its sequence.
    /// [`StoreError::PublicationExists`] if the entity tag is taken.
    fn insert_publication(&self, publication: &NewPublication) -> Result<Publication, StoreError>;

    /// Applies a refresh or modify to the publication with entity tag `etag`, live at `now`,
    /// and returns it as stored afterwards, under `update.new_etag`. Atomic: the old tag stops
    /// matching exactly when the new one starts. [`StoreError::PublicationNotFound`] or
    /// [`StoreError::PublicationExpired`] (RFC 3903 §6 `412`), or
    /// [`StoreError::PublicationExists`] if the new tag is another publication's.
    fn update_publication(
        &self,
        etag: &str,
        update: &PublicationUpdate,
        now: Timestamp,
    ) -> Result<Publication, StoreError>;

    /// A refresh (RFC 3903 §4.3): new entity tag and expiry, document kept.
    fn refresh_publication(
        &self,
        etag: &str,
        new_etag: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Publication, StoreError> {
        let update = PublicationUpdate {
            new_etag: new_etag.to_owned(),
            expires_at,
            body: None,
        };
        self.update_publication(etag, &update, now)
    }

    /// Removes the publication with entity tag `etag` and returns it (live or not).
    fn remove_publication(&self, etag: &str) -> Result<Option<Publication>, StoreError>;

    /// The publication with entity tag `etag`, live or not.
    fn publication(&self, etag: &str) -> Result<Option<Publication>, StoreError>;

    /// The publications of `presentity` for `event` live at `now`, oldest document first (by
    /// sequence).
    fn live_publications(
        &self,
        presentity: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Publication>, StoreError>;

    /// Every publication live at `now`, by sequence (to rebuild state after a restart).
    fn load_live_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError>;

    /// Removes the publications no longer live at `now` and returns them, by sequence.
    fn purge_expired_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError>;

    /// [`PublicationStore::insert_publication`] without blocking its caller: `done` is told
    /// the outcome once it is durable, maybe later and on another thread (SQLite tells it from
    /// its writer thread, after the group commit). The default runs on the caller's thread.
    fn submit_insert_publication(&self, publication: NewPublication, done: Done<Publication>) {
        done(self.insert_publication(&publication));
    }

    /// [`PublicationStore::update_publication`] without blocking, as
    /// [`PublicationStore::submit_insert_publication`].
    fn submit_update_publication(
        &self,
        etag: String,
        update: PublicationUpdate,
        now: Timestamp,
        done: Done<Publication>,
    ) {
        done(self.update_publication(&etag, &update, now));
    }

    /// [`PublicationStore::remove_publication`] without blocking, as
    /// [`PublicationStore::submit_insert_publication`].
    fn submit_remove_publication(&self, etag: String, done: Done<Option<Publication>>) {
        done(self.remove_publication(&etag));
    }
}

/// Subscriptions on the notifier side (RFC 6665) with their dialog state. A subscription is
/// live while `expires_at > now`, whatever its state; expired ones stay stored until purged.
pub trait SubscriptionStore {
    /// Stores a new subscription unless its watcher already has `limit` or more live at `now`
    /// ([`StoreError::SubscriptionLimit`]); the check and the insert are atomic.
    /// [`StoreError::SubscriptionExists`] / [`StoreError::DialogExists`] if its id / dialog
    /// is taken.
    fn insert_subscription(
        &self,
        subscription: &Subscription,
        limit: usize,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Applies `update` and returns the subscription as stored afterwards.
    /// [`StoreError::SubscriptionNotFound`] if there is none with this id.
    fn update_subscription(
        &self,
        id: &str,
        update: &SubscriptionUpdate,
    ) -> Result<Subscription, StoreError>;

    /// Increments the local CSeq of the subscription's dialog and returns the new value, to
    /// be used by the next NOTIFY. Durable when it returns, so a CSeq is never reused, even
    /// after a restart. Saturates at `u32::MAX` (136 years of one NOTIFY a second).
    fn next_local_cseq(&self, id: &str) -> Result<u32, StoreError>;

    /// Raises the stored local CSeq of the subscription's dialog to at least `at_least` and
    /// returns the stored value: a notifier reserves a block of CSeqs with one durable write
    /// and, after a restart, continues after the stored value (RFC 3261 §12.2.1.1 asks only
    /// that they increase). Never lowers it.
    fn reserve_local_cseq(&self, id: &str, at_least: u32) -> Result<u32, StoreError>;

    /// Records the version of the last watcher-information document sent.
    fn set_winfo_version(&self, id: &str, version: u32) -> Result<(), StoreError>;

    /// Removes a subscription and returns it.
    fn remove_subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError>;

    /// The subscription with this id, live or not.
    fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError>;

    /// The subscription of this dialog, live or not (an in-dialog SUBSCRIBE, a NOTIFY
    /// response).
    fn subscription_by_dialog(&self, dialog: &DialogId)
        -> Result<Option<Subscription>, StoreError>;

    /// The subscriptions to `resource` for `event` live at `now` (the fan-out of a change),
    /// ordered by creation time then id.
    fn subscriptions_to(
        &self,
        resource: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// The subscriptions of `watcher` live at `now`, ordered by creation time then id.
    fn subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// How many subscriptions of `watcher` are live at `now`.
    fn count_subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<usize, StoreError>;

    /// Every subscription live at `now`, ordered by creation time then id (to resume
    /// notifying after a restart).
    fn load_live_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError>;

    /// Removes the subscriptions no longer live at `now` and returns them, ordered by
    /// creation time then id.
    fn purge_expired_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError>;

    /// [`SubscriptionStore::insert_subscription`] without blocking its caller: `done` is told
    /// the outcome once it is durable, maybe later and on another thread (SQLite tells it from
    /// its writer thread, after the group commit). The default runs on the caller's thread.
    fn submit_insert_subscription(
        &self,
        subscription: Subscription,
        limit: usize,
        now: Timestamp,
        done: Done<()>,
    ) {
        done(self.insert_subscription(&subscription, limit, now));
    }

    /// [`SubscriptionStore::update_subscription`] without blocking, as
    /// [`SubscriptionStore::submit_insert_subscription`].
    fn submit_update_subscription(
        &self,
        id: String,
        update: SubscriptionUpdate,
        done: Done<Subscription>,
    ) {
        done(self.update_subscription(&id, &update));
    }

    /// Removes a subscription without blocking, as
    /// [`SubscriptionStore::submit_insert_subscription`]; `done` learns whether there was one
    /// (not the subscription: reading it back costs more than the removal).
    fn submit_remove_subscription(&self, id: String, done: Done<bool>) {
        done(self.remove_subscription(&id).map(|s| s.is_some()));
    }
}

/// The decisions presentities took about individual watchers (the `confirm` policy): one per
/// `(presentity, watcher)`.
pub trait AuthorizationStore {
    /// Records (or replaces) the decision of `presentity` about `watcher`.
    fn set_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
        decision: WatcherDecision,
    ) -> Result<(), StoreError>;

    /// The decision of `presentity` about `watcher`, if any.
    fn authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<Option<WatcherDecision>, StoreError>;

    /// Every decision of `presentity`, ordered by watcher.
    fn list_authorizations(
        &self,
        presentity: &Address,
    ) -> Result<Vec<WatcherAuthorization>, StoreError>;

    /// Removes the decision of `presentity` about `watcher`; whether there was one.
    fn remove_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<bool, StoreError>;
}

/// Everything the server keeps durably. Implemented by [`crate::MemoryStore`] and
/// [`crate::SqliteStore`]; share it as `Arc<dyn Store>`.
pub trait Store:
    UserStore
    + RegistrationStore
    + OfflineMessageStore
    + PublicationStore
    + SubscriptionStore
    + AuthorizationStore
    + crate::restore::RestoreStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: UserStore
        + RegistrationStore
        + OfflineMessageStore
        + PublicationStore
        + SubscriptionStore
        + AuthorizationStore
        + crate::restore::RestoreStore
        + Send
        + Sync
{
}
