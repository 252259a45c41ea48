//! Versioned schema migrations, run at open. The version is SQLite's `user_version`; each
//! migration runs in its own `IMMEDIATE` transaction that re-reads the version first, so two
//! processes opening the same file at once apply each migration once. Migrations are
//! append-only: never edit one that has shipped.

use rusqlite::{Connection, TransactionBehavior};

use super::backend;
use crate::error::StoreError;

/// The migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: users, bindings, offline messages (issue 3).
    "
    CREATE TABLE users (
        address     TEXT PRIMARY KEY NOT NULL,
        realm       TEXT NOT NULL,
        ha1_md5     TEXT NOT NULL,
        ha1_sha256  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE bindings (
        aor             TEXT NOT NULL,
        contact         TEXT NOT NULL,
        q               INTEGER,
        expires_at      INTEGER NOT NULL,
        call_id         TEXT NOT NULL,
        cseq            INTEGER NOT NULL,
        instance_id     TEXT,
        reg_id          INTEGER,
        path            TEXT NOT NULL,
        transport       TEXT,
        source          TEXT,
        connection_id   INTEGER,
        user_agent      TEXT,
        PRIMARY KEY (aor, contact)
    ) STRICT;
    CREATE INDEX bindings_by_expiry ON bindings (expires_at);

    CREATE TABLE offline_messages (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient       TEXT NOT NULL,
        sender          TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        body            BLOB NOT NULL,
        received_at     INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER
    ) STRICT;
    CREATE INDEX offline_messages_by_recipient ON offline_messages (recipient, received_at, id);
    CREATE INDEX offline_messages_by_next_attempt ON offline_messages (next_attempt_at)
        WHERE next_attempt_at IS NOT NULL;
    ",
    // 2: publications, subscriptions, watcher authorizations (issue 4, "Durability").
    // Subscription rows stay compact (issue 5): states and flags are integers, the route set
    // one newline-separated text, and only the lookups the server makes are indexed.
    "
    CREATE TABLE publications (
        seq             INTEGER PRIMARY KEY,
        etag            TEXT NOT NULL UNIQUE,
        presentity      TEXT NOT NULL,
        event           TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        body            BLOB NOT NULL,
        expires_at      INTEGER NOT NULL,
        modified_at     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX publications_by_presentity ON publications (presentity, event);
    CREATE INDEX publications_by_expiry ON publications (expires_at);

    CREATE TABLE subscriptions (
        id              TEXT NOT NULL UNIQUE,
        event           TEXT NOT NULL,
        watcher         TEXT NOT NULL,
        display_name    TEXT,
        resource        TEXT NOT NULL,
        call_id         TEXT NOT NULL,
        local_tag       TEXT NOT NULL,
        remote_tag      TEXT NOT NULL,
        local_cseq      INTEGER NOT NULL,
        remote_cseq     INTEGER NOT NULL,
        local_uri       TEXT NOT NULL,
        remote_uri      TEXT NOT NULL,
        remote_target   TEXT NOT NULL,
        local_contact   TEXT NOT NULL,
        route_set       TEXT NOT NULL,
        secure          INTEGER NOT NULL,
        state           INTEGER NOT NULL,
        reason          TEXT,
        expires_at      INTEGER NOT NULL,
        transport       TEXT,
        source          TEXT,
        connection_id   INTEGER,
        winfo_version   INTEGER NOT NULL,
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX subscriptions_by_dialog ON subscriptions (call_id, local_tag, remote_tag);
    CREATE INDEX subscriptions_by_resource ON subscriptions (resource, event);
    CREATE INDEX subscriptions_by_watcher ON subscriptions (watcher);
    CREATE INDEX subscriptions_by_expiry ON subscriptions (expires_at);

    CREATE TABLE watcher_authorizations (
        presentity      TEXT NOT NULL,
        watcher         TEXT NOT NULL,
        decision        INTEGER NOT NULL,
        PRIMARY KEY (presentity, watcher)
    ) STRICT, WITHOUT ROWID;
    ",
    // 3: no index of subscriptions by resource (issue 5). The server keeps the subscriptions of
    // each presentity in memory and never asks the store for them; the index cost a page
    // written for nearly every subscription stored or removed.
    "
    DROP INDEX subscriptions_by_resource;
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of the open database.
pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(backend)
}

/// Brings the schema to [`SCHEMA_VERSION`]; does nothing if it is there already.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let found = version(&tx)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(sql) = usize::try_from(found).ok().and_then(|i| MIGRATIONS.get(i)) else {
            // Up to date (a negative version cannot be ours and would fail below).
            return if found == SCHEMA_VERSION {
                Ok(())
            } else {
                Err(StoreError::Corrupt {
                    what: "schema version",
                })
            };
        };
        tx.execute_batch(sql).map_err(backend)?;
        tx.pragma_update(None, "user_version", found + 1)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
}
