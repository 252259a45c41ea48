//! [`SqliteStore`]: the embedded default (DESIGN.md "Storage"): one SQLite file in the data
//! directory, WAL journal, `synchronous=FULL`, versioned migrations at open.
//!
//! Two connections: writes go to one writer thread that batches concurrent jobs into one
//! transaction (group commit, see `writer.rs`); reads use a second connection behind a mutex
//! and, thanks to WAL, never wait for the writer. A write returns after its transaction is
//! committed, so a read that follows it sees it.

mod ops;
mod presence_ops;
mod restore;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use schema::SCHEMA_VERSION;
pub use writer::MAX_BATCH;

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
use crate::traits::{
    AuthorizationStore, OfflineMessageStore, PublicationStore, RegistrationStore,
    SubscriptionStore, UserStore,
};
use presence_ops as pops;
use writer::Writer;

/// The database file name inside the data directory.
pub const DATABASE_FILE: &str = "parley.sqlite3";

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// A [`crate::Store`] in an SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    reader: Mutex<Connection>,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) [`DATABASE_FILE`] in `data_dir`, creating the directory too,
    /// and migrates its schema.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(backend)?;
        SqliteStore::open_file(&data_dir.join(DATABASE_FILE))
    }

    /// Opens (creating if needed) the database at `path` and migrates its schema.
    pub fn open_file(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path).map_err(backend)?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        configure(&reader)?;
        reader
            .pragma_update(None, "query_only", true)
            .map_err(backend)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            reader: Mutex::new(reader),
            writer: Writer::spawn(conn)?,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (equal to [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::version(&self.reader())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        // Reads leave no state behind in the connection: usable even after a panic.
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    // WAL: readers do not block the writer nor it them; one fsync per commit.
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(backend)?;
    // FULL: a committed transaction survives power loss, not only a crash of the process.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(backend)?;
    Ok(())
}

impl UserStore for SqliteStore {
    fn add_user(&self, user: &User) -> Result<(), StoreError> {
        user.ha1.validate()?;
        let user = user.clone();
        self.writer.write(move |c| ops::add_user(c, &user))
    }

    fn set_ha1(&self, address: &Address, ha1: &Ha1Set) -> Result<(), StoreError> {
        ha1.validate()?;
        let (address, ha1) = (address.clone(), ha1.clone());
        self.writer.write(move |c| ops::set_ha1(c, &address, &ha1))
    }

    fn remove_user(&self, address: &Address) -> Result<(), StoreError> {
        let address = address.clone();
        self.writer.write(move |c| ops::remove_user(c, &address))
    }

    fn user(&self, address: &Address) -> Result<Option<User>, StoreError> {
        ops::get_user(&self.reader(), address)
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        ops::list_users(&self.reader())
    }
}

impl RegistrationStore for SqliteStore {
    fn update_bindings(
        &self,
        aor: &Address,
        changes: &[BindingChange],
        now: Timestamp,
    ) -> Result<Vec<Binding>, StoreError> {
        for change in changes {
            if let BindingChange::Upsert(b) = change {
                crate::check_upsert(aor, b)?;
            }
        }
        let (aor, changes) = (aor.clone(), changes.to_vec());
        self.writer
            .write(move |c| ops::update_bindings(c, &aor, &changes, now))
    }

    /// Everything on the writer thread, on its connection: the caller waits for nothing, and
    /// the read sees every committed write. The write comes last, so that nothing can fail
    /// after it (a failed job must leave nothing behind, see `writer.rs`).
    fn register(&self, aor: &Address, now: Timestamp, plan: BindingPlan, done: RegisterDone) {
        let aor = aor.clone();
        let op = move |c: &Connection| {
            let existing = ops::live_bindings(c, &aor, now)?;
            let changes = plan(&existing);
            if changes.is_empty() {
                let messages_waiting = !existing.is_empty() && ops::count_pending(c, &aor)? > 0;
                return Ok(Registered {
                    bindings: existing,
                    previous: Vec::new(),
                    changed: false,
                    messages_waiting,
                });
            }
            for change in &changes {
                if let BindingChange::Upsert(b) = change {
                    crate::check_upsert(&aor, b)?;
                }
            }
            // The mailbox is not touched by the bindings' write: read before it.
            let pending = ops::count_pending(c, &aor)?;
            ops::apply_binding_changes(c, &aor, &changes)?;
            let previous = existing.clone();
            let bindings = crate::apply_in_memory(existing, changes, now);
            let messages_waiting = !bindings.is_empty() && pending > 0;
            Ok(Registered {
                bindings,
                previous,
                changed: true,
                messages_waiting,
            })
        };
        self.writer.submit(op, done);
    }

    fn remove_binding(&self, aor: &Address, contact: &str) -> Result<bool, StoreError> {
        let (aor, contact) = (aor.clone(), contact.to_owned());
        self.writer
            .write(move |c| ops::remove_binding(c, &aor, &contact))
    }

    fn remove_all_bindings(&self, aor: &Address) -> Result<usize, StoreError> {
        let aor = aor.clone();
        self.writer
            .write(move |c| ops::remove_all_bindings(c, &aor))
    }

    fn live_bindings(&self, aor: &Address, now: Timestamp) -> Result<Vec<Binding>, StoreError> {
        ops::live_bindings(&self.reader(), aor, now)
    }

    fn purge_expired_bindings(&self, now: Timestamp) -> Result<Vec<Binding>, StoreError> {
        self.writer
            .write(move |c| ops::purge_expired_bindings(c, now))
    }
}

impl OfflineMessageStore for SqliteStore {
    fn enqueue_message(
        &self,
        message: &NewOfflineMessage,
        limit: usize,
    ) -> Result<MessageId, StoreError> {
        message.validate()?;
        let message = message.clone();
        self.writer
            .write(move |c| ops::enqueue_message(c, &message, limit))
    }

    fn pending_messages(&self, recipient: &Address) -> Result<Vec<OfflineMessage>, StoreError> {
        ops::pending_messages(&self.reader(), recipient)
    }

    fn count_pending(&self, recipient: &Address) -> Result<usize, StoreError> {
        ops::count_pending(&self.reader(), recipient)
    }

    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OfflineMessage>, StoreError> {
        ops::due_messages(&self.reader(), now, limit)
    }

    fn record_delivery_attempt(
        &self,
        id: MessageId,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<u32, StoreError> {
        self.writer
            .write(move |c| ops::record_delivery_attempt(c, id, next_attempt_at))
    }

    fn delete_message(&self, id: MessageId) -> Result<bool, StoreError> {
        self.writer.write(move |c| ops::delete_message(c, id))
    }
}

impl PublicationStore for SqliteStore {
    fn insert_publication(&self, p: &NewPublication) -> Result<Publication, StoreError> {
        p.validate()?;
        let p = p.clone();
        self.writer.write(move |c| pops::insert_publication(c, &p))
    }

    fn update_publication(
        &self,
        etag: &str,
        update: &PublicationUpdate,
        now: Timestamp,
    ) -> Result<Publication, StoreError> {
        update.validate()?;
        let (etag, update) = (etag.to_owned(), update.clone());
        self.writer
            .write(move |c| pops::update_publication(c, &etag, &update, now))
    }

    fn remove_publication(&self, etag: &str) -> Result<Option<Publication>, StoreError> {
        let etag = etag.to_owned();
        self.writer
            .write(move |c| pops::remove_publication(c, &etag))
    }

    fn publication(&self, etag: &str) -> Result<Option<Publication>, StoreError> {
        pops::publication(&self.reader(), etag)
    }

    fn live_publications(
        &self,
        presentity: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Publication>, StoreError> {
        pops::live_publications(&self.reader(), presentity, event, now)
    }

    fn load_live_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError> {
        pops::load_live_publications(&self.reader(), now)
    }

    fn purge_expired_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError> {
        self.writer
            .write(move |c| pops::purge_expired_publications(c, now))
    }

    fn submit_insert_publication(&self, p: NewPublication, done: Done<Publication>) {
        if let Err(e) = p.validate() {
            return done(Err(e));
        }
        self.writer
            .submit(move |c| pops::insert_publication(c, &p), done);
    }

    fn submit_update_publication(
        &self,
        etag: String,
        update: PublicationUpdate,
        now: Timestamp,
        done: Done<Publication>,
    ) {
        if let Err(e) = update.validate() {
            return done(Err(e));
        }
        self.writer.submit(
            move |c| pops::update_publication(c, &etag, &update, now),
            done,
        );
    }

    fn submit_remove_publication(&self, etag: String, done: Done<Option<Publication>>) {
        self.writer
            .submit(move |c| pops::remove_publication(c, &etag), done);
    }
}

impl SubscriptionStore for SqliteStore {
    fn insert_subscription(
        &self,
        subscription: &Subscription,
        limit: usize,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        subscription.validate()?;
        let s = subscription.clone();
        self.writer
            .write(move |c| pops::insert_subscription(c, &s, limit, now))
    }

    fn update_subscription(
        &self,
        id: &str,
        update: &SubscriptionUpdate,
    ) -> Result<Subscription, StoreError> {
        update.validate()?;
        let (id, update) = (id.to_owned(), update.clone());
        self.writer
            .write(move |c| pops::update_subscription(c, &id, &update))
    }

    fn next_local_cseq(&self, id: &str) -> Result<u32, StoreError> {
        let id = id.to_owned();
        self.writer.write(move |c| pops::next_local_cseq(c, &id))
    }

    fn reserve_local_cseq(&self, id: &str, at_least: u32) -> Result<u32, StoreError> {
        let id = id.to_owned();
        self.writer
            .write(move |c| pops::reserve_local_cseq(c, &id, at_least))
    }

    fn set_winfo_version(&self, id: &str, version: u32) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .write(move |c| pops::set_winfo_version(c, &id, version))
    }

    fn remove_subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let id = id.to_owned();
        self.writer
            .write(move |c| pops::remove_subscription(c, &id))
    }

    fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        pops::subscription(&self.reader(), id)
    }

    fn subscription_by_dialog(
        &self,
        dialog: &DialogId,
    ) -> Result<Option<Subscription>, StoreError> {
        pops::subscription_by_dialog(&self.reader(), dialog)
    }

    fn subscriptions_to(
        &self,
        resource: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError> {
        pops::subscriptions_to(&self.reader(), resource, event, now)
    }

    fn subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError> {
        pops::subscriptions_of(&self.reader(), watcher, now)
    }

    fn count_subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        pops::count_subscriptions_of(&self.reader(), watcher, now)
    }

    fn load_live_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError> {
        pops::load_live_subscriptions(&self.reader(), now)
    }

    fn purge_expired_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError> {
        self.writer
            .write(move |c| pops::purge_expired_subscriptions(c, now))
    }

    fn submit_insert_subscription(
        &self,
        s: Subscription,
        limit: usize,
        now: Timestamp,
        done: Done<()>,
    ) {
        if let Err(e) = s.validate() {
            return done(Err(e));
        }
        self.writer
            .submit(move |c| pops::insert_subscription(c, &s, limit, now), done);
    }

    fn submit_update_subscription(
        &self,
        id: String,
        update: SubscriptionUpdate,
        done: Done<Subscription>,
    ) {
        if let Err(e) = update.validate() {
            return done(Err(e));
        }
        self.writer
            .submit(move |c| pops::update_subscription(c, &id, &update), done);
    }

    fn submit_remove_subscription(&self, id: String, done: Done<bool>) {
        self.writer
            .submit(move |c| pops::delete_subscription(c, &id), done);
    }
}

impl AuthorizationStore for SqliteStore {
    fn set_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
        decision: WatcherDecision,
    ) -> Result<(), StoreError> {
        let (p, w) = (presentity.clone(), watcher.clone());
        self.writer
            .write(move |c| pops::set_authorization(c, &p, &w, decision))
    }

    fn authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<Option<WatcherDecision>, StoreError> {
        pops::authorization(&self.reader(), presentity, watcher)
    }

    fn list_authorizations(
        &self,
        presentity: &Address,
    ) -> Result<Vec<WatcherAuthorization>, StoreError> {
        pops::list_authorizations(&self.reader(), presentity)
    }

    fn remove_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<bool, StoreError> {
        let (p, w) = (presentity.clone(), watcher.clone());
        self.writer
            .write(move |c| pops::remove_authorization(c, &p, &w))
    }
}
