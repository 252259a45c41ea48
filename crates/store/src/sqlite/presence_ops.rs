//! The SQL of the presence operations (publications, subscriptions, authorizations) and the
//! conversions between their rows and the model.

use std::net::SocketAddr;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::backend;
use super::ops::{collect, corrupt, execute, get, ts, ts_from, u64_from_sql, u64_to_sql};
use crate::address::Address;
use crate::error::StoreError;
use crate::model::{Source, Timestamp};
use crate::presence::{
    DialogId, NewPublication, Publication, PublicationUpdate, Subscription, SubscriptionDialog,
    SubscriptionState, SubscriptionUpdate, WatcherAuthorization, WatcherDecision,
};

fn address(s: &str, what: &'static str) -> Result<Address, StoreError> {
    Address::parse(s).map_err(|_| corrupt(what))
}

fn u32_from(v: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(what))
}

/// The UNIQUE constraint a failed write broke, as SQLite names it (`table.column, …`).
fn unique_violated(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(message))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            message.strip_prefix("UNIQUE constraint failed: ")
        }
        _ => None,
    }
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, |r| r.get(0)))
        .map_err(backend)?;
    usize::try_from(n).map_err(|_| corrupt("count"))
}

// ---- publications ----

const PUBLICATION_COLUMNS: &str =
    "seq, etag, presentity, event, content_type, body, expires_at, modified_at";

fn publication_from(row: &Row<'_>) -> Result<Publication, StoreError> {
    let presentity: String = get(row, 2)?;
    Ok(Publication {
        sequence: u64_from_sql(get(row, 0)?),
        etag: get(row, 1)?,
        presentity: address(&presentity, "publication presentity")?,
        event: get(row, 3)?,
        content_type: get(row, 4)?,
        body: get(row, 5)?,
        expires_at: ts_from(get(row, 6)?)?,
        modified_at: ts_from(get(row, 7)?)?,
    })
}

pub(crate) fn publication(
    conn: &Connection,
    etag: &str,
) -> Result<Option<Publication>, StoreError> {
    let sql = format!("SELECT {PUBLICATION_COLUMNS} FROM publications WHERE etag = ?1");
    Ok(collect(conn, &sql, [etag], publication_from)?.pop())
}

/// One INSERT: the entity tag's UNIQUE constraint finds a duplicate, and the stored row is
/// the one given with the sequence SQLite chose.
pub(crate) fn insert_publication(
    conn: &Connection,
    p: &NewPublication,
) -> Result<Publication, StoreError> {
    // `seq` is the rowid: SQLite gives one more than the largest stored.
    let inserted = execute(
        conn,
        "INSERT INTO publications (etag, presentity, event, content_type, body, expires_at, \
         modified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            p.etag,
            p.presentity.as_str(),
            p.event,
            p.content_type,
            p.body,
            ts(p.expires_at),
            ts(p.modified_at),
        ],
    );
    match inserted {
        Ok(_) => Ok(Publication {
            presentity: p.presentity.clone(),
            etag: p.etag.clone(),
            event: p.event.clone(),
            content_type: p.content_type.clone(),
            body: p.body.clone(),
            expires_at: p.expires_at,
            modified_at: p.modified_at,
            sequence: u64_from_sql(conn.last_insert_rowid()),
        }),
        Err(StoreError::Backend(e))
            if e.downcast_ref::<rusqlite::Error>()
                .and_then(unique_violated)
                .is_some() =>
        {
            Err(StoreError::PublicationExists(p.etag.clone()))
        }
        Err(e) => Err(e),
    }
}

/// One UPDATE of the live row, returning it; only when none was updated is the row read to
/// tell a missing publication from an expired one.
pub(crate) fn update_publication(
    conn: &Connection,
    etag: &str,
    u: &PublicationUpdate,
    now: Timestamp,
) -> Result<Publication, StoreError> {
    const REFRESH: &str = "UPDATE publications SET etag = ?2, expires_at = ?3 \
         WHERE etag = ?1 AND expires_at > ?4 RETURNING seq, etag, presentity, event, \
         content_type, body, expires_at, modified_at";
    const MODIFY: &str = "UPDATE publications SET etag = ?2, expires_at = ?3, \
         content_type = ?5, body = ?6, modified_at = ?4, \
         seq = (SELECT MAX(seq) + 1 FROM publications) WHERE etag = ?1 AND expires_at > ?4 \
         RETURNING seq, etag, presentity, event, content_type, body, expires_at, modified_at";
    let updated = match &u.body {
        None => collect(
            conn,
            REFRESH,
            params![etag, u.new_etag, ts(u.expires_at), ts(now)],
            publication_from,
        ),
        Some(b) => collect(
            conn,
            MODIFY,
            params![
                etag,
                u.new_etag,
                ts(u.expires_at),
                ts(now),
                b.content_type,
                b.body
            ],
            publication_from,
        ),
    };
    match updated {
        Ok(mut rows) => match rows.pop() {
            Some(p) => Ok(p),
            None => match publication(conn, etag)? {
                None => Err(StoreError::PublicationNotFound(etag.to_owned())),
                Some(_) => Err(StoreError::PublicationExpired(etag.to_owned())),
            },
        },
        Err(StoreError::Backend(e))
            if e.downcast_ref::<rusqlite::Error>()
                .and_then(unique_violated)
                .is_some() =>
        {
            Err(StoreError::PublicationExists(u.new_etag.clone()))
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn remove_publication(
    conn: &Connection,
    etag: &str,
) -> Result<Option<Publication>, StoreError> {
    // PUBLICATION_COLUMNS spelled out: formatting the statement would cost more than
    // finding it in the statement cache.
    const SQL: &str = "DELETE FROM publications WHERE etag = ?1 RETURNING seq, etag, \
         presentity, event, content_type, body, expires_at, modified_at";
    Ok(collect(conn, SQL, [etag], publication_from)?.pop())
}

pub(crate) fn live_publications(
    conn: &Connection,
    presentity: &Address,
    event: &str,
    now: Timestamp,
) -> Result<Vec<Publication>, StoreError> {
    let sql = format!(
        "SELECT {PUBLICATION_COLUMNS} FROM publications \
         WHERE presentity = ?1 AND event = ?2 AND expires_at > ?3 ORDER BY seq"
    );
    let p = params![presentity.as_str(), event, ts(now)];
    collect(conn, &sql, p, publication_from)
}

pub(crate) fn load_live_publications(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<Publication>, StoreError> {
    let sql = format!(
        "SELECT {PUBLICATION_COLUMNS} FROM publications NOT INDEXED WHERE expires_at > ?1 \
         ORDER BY seq"
    );
    collect(conn, &sql, [ts(now)], publication_from)
}

pub(crate) fn purge_expired_publications(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<Publication>, StoreError> {
    let sql = format!(
        "SELECT {PUBLICATION_COLUMNS} FROM publications WHERE expires_at <= ?1 ORDER BY seq"
    );
    let expired = collect(conn, &sql, [ts(now)], publication_from)?;
    execute(
        conn,
        "DELETE FROM publications WHERE expires_at <= ?1",
        [ts(now)],
    )?;
    Ok(expired)
}

// ---- subscriptions ----

const SUBSCRIPTION_COLUMNS: &str = "id, event, watcher, display_name, resource, call_id, \
     local_tag, remote_tag, local_cseq, remote_cseq, local_uri, remote_uri, remote_target, \
     local_contact, route_set, secure, state, reason, expires_at, transport, source, \
     connection_id, winfo_version, created_at";

const PENDING: i64 = 0;
const ACTIVE: i64 = 1;
const TERMINATED: i64 = 2;

fn state_to_sql(s: &SubscriptionState) -> (i64, Option<&str>) {
    match s {
        SubscriptionState::Pending => (PENDING, None),
        SubscriptionState::Active => (ACTIVE, None),
        SubscriptionState::Terminated { reason } => (TERMINATED, reason.as_deref()),
    }
}

fn state_from(state: i64, reason: Option<String>) -> Result<SubscriptionState, StoreError> {
    match (state, reason) {
        (PENDING, None) => Ok(SubscriptionState::Pending),
        (ACTIVE, None) => Ok(SubscriptionState::Active),
        (TERMINATED, reason) => Ok(SubscriptionState::Terminated { reason }),
        _ => Err(corrupt("subscription state")),
    }
}

fn source_from(
    transport: Option<String>,
    source: Option<String>,
    connection_id: Option<i64>,
) -> Result<Option<Source>, StoreError> {
    match (transport, source) {
        (Some(transport), Some(address)) => Ok(Some(Source {
            transport,
            address: address
                .parse::<SocketAddr>()
                .map_err(|_| corrupt("subscription source address"))?,
            connection_id: connection_id.map(u64_from_sql),
        })),
        (None, None) => Ok(None),
        _ => Err(corrupt("subscription source")),
    }
}

fn subscription_from(row: &Row<'_>) -> Result<Subscription, StoreError> {
    let watcher: String = get(row, 2)?;
    let resource: String = get(row, 4)?;
    let route_set: String = get(row, 14)?;
    let secure: i64 = get(row, 15)?;
    Ok(Subscription {
        id: get(row, 0)?,
        event: get(row, 1)?,
        watcher: address(&watcher, "subscription watcher")?,
        watcher_display_name: get(row, 3)?,
        resource: address(&resource, "subscription resource")?,
        dialog: SubscriptionDialog {
            id: DialogId {
                call_id: get(row, 5)?,
                local_tag: get(row, 6)?,
                remote_tag: get(row, 7)?,
            },
            local_cseq: u32_from(get(row, 8)?, "subscription local CSeq")?,
            remote_cseq: u32_from(get(row, 9)?, "subscription remote CSeq")?,
            local_uri: get(row, 10)?,
            remote_uri: get(row, 11)?,
            remote_target: get(row, 12)?,
            local_contact: get(row, 13)?,
            route_set: if route_set.is_empty() {
                Vec::new()
            } else {
                route_set.split('\n').map(str::to_owned).collect()
            },
            secure: match secure {
                0 => false,
                1 => true,
                _ => return Err(corrupt("subscription secure flag")),
            },
        },
        state: state_from(get(row, 16)?, get(row, 17)?)?,
        expires_at: ts_from(get(row, 18)?)?,
        source: source_from(get(row, 19)?, get(row, 20)?, get(row, 21)?)?,
        winfo_version: u32_from(get(row, 22)?, "subscription winfo version")?,
        created_at: ts_from(get(row, 23)?)?,
    })
}

pub(crate) fn subscription(
    conn: &Connection,
    id: &str,
) -> Result<Option<Subscription>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?1");
    Ok(collect(conn, &sql, [id], subscription_from)?.pop())
}

pub(crate) fn subscription_by_dialog(
    conn: &Connection,
    d: &DialogId,
) -> Result<Option<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
         WHERE call_id = ?1 AND local_tag = ?2 AND remote_tag = ?3"
    );
    let p = params![d.call_id, d.local_tag, d.remote_tag];
    Ok(collect(conn, &sql, p, subscription_from)?.pop())
}

pub(crate) fn count_subscriptions_of(
    conn: &Connection,
    watcher: &Address,
    now: Timestamp,
) -> Result<usize, StoreError> {
    count(
        conn,
        "SELECT COUNT(*) FROM subscriptions WHERE watcher = ?1 AND expires_at > ?2",
        params![watcher.as_str(), ts(now)],
    )
}

/// The limit is counted first; the id and the dialog are checked by their UNIQUE indexes
/// in the INSERT, and read only to report which one a subscription over the limit repeats
/// (a duplicate is reported before the limit).
pub(crate) fn insert_subscription(
    conn: &Connection,
    s: &Subscription,
    max: usize,
    now: Timestamp,
) -> Result<(), StoreError> {
    if count_subscriptions_of(conn, &s.watcher, now)? >= max {
        if subscription(conn, &s.id)?.is_some() {
            return Err(StoreError::SubscriptionExists(s.id.clone()));
        }
        if subscription_by_dialog(conn, &s.dialog.id)?.is_some() {
            return Err(StoreError::DialogExists(s.dialog.id.clone()));
        }
        return Err(StoreError::SubscriptionLimit {
            watcher: s.watcher.clone(),
            limit: max,
        });
    }
    let d = &s.dialog;
    // Route entries hold no control characters (validated), so a newline separates them.
    let route_set = d.route_set.join("\n");
    let (state, reason) = state_to_sql(&s.state);
    let src = s.source.as_ref();
    let inserted = execute(
        conn,
        "INSERT INTO subscriptions (id, event, watcher, display_name, resource, call_id, \
         local_tag, remote_tag, local_cseq, remote_cseq, local_uri, remote_uri, remote_target, \
         local_contact, route_set, secure, state, reason, expires_at, transport, source, \
         connection_id, winfo_version, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        params![
            s.id,
            s.event,
            s.watcher.as_str(),
            s.watcher_display_name,
            s.resource.as_str(),
            d.id.call_id,
            d.id.local_tag,
            d.id.remote_tag,
            d.local_cseq,
            d.remote_cseq,
            d.local_uri,
            d.remote_uri,
            d.remote_target,
            d.local_contact,
            route_set,
            d.secure,
            state,
            reason,
            ts(s.expires_at),
            src.map(|s| s.transport.as_str()),
            src.map(|s| s.address.to_string()),
            src.and_then(|s| s.connection_id).map(u64_to_sql),
            s.winfo_version,
            ts(s.created_at),
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(StoreError::Backend(e)) => {
            match e
                .downcast_ref::<rusqlite::Error>()
                .and_then(unique_violated)
            {
                Some("subscriptions.id") => Err(StoreError::SubscriptionExists(s.id.clone())),
                // SQLite may check the dialog's index first: a taken id is reported first,
                // whichever index found the duplicate.
                Some(_) if subscription(conn, &s.id)?.is_some() => {
                    Err(StoreError::SubscriptionExists(s.id.clone()))
                }
                Some(_) => Err(StoreError::DialogExists(s.dialog.id.clone())),
                None => Err(StoreError::Backend(e)),
            }
        }
        Err(e) => Err(e),
    }
}

fn not_found(id: &str) -> StoreError {
    StoreError::SubscriptionNotFound(id.to_owned())
}

/// One UPDATE returning the row: a field the update leaves alone keeps its value (`?n` flags
/// which are given).
pub(crate) fn update_subscription(
    conn: &Connection,
    id: &str,
    u: &SubscriptionUpdate,
) -> Result<Subscription, StoreError> {
    const SQL: &str = "UPDATE subscriptions SET \
         state = IIF(?2, ?3, state), reason = IIF(?2, ?4, reason), \
         expires_at = COALESCE(?5, expires_at), remote_cseq = COALESCE(?6, remote_cseq), \
         remote_target = COALESCE(?7, remote_target), \
         transport = IIF(?8, ?9, transport), source = IIF(?8, ?10, source), \
         connection_id = IIF(?8, ?11, connection_id) \
         WHERE id = ?1 RETURNING id, event, watcher, display_name, resource, call_id, \
         local_tag, remote_tag, local_cseq, remote_cseq, local_uri, remote_uri, remote_target, \
         local_contact, route_set, secure, state, reason, expires_at, transport, source, \
         connection_id, winfo_version, created_at";
    let (state, reason) = match &u.state {
        Some(s) => state_to_sql(s),
        None => (PENDING, None),
    };
    let src = u.source.as_ref();
    let p = params![
        id,
        u.state.is_some(),
        state,
        reason,
        u.expires_at.map(ts),
        u.remote_cseq,
        u.remote_target,
        src.is_some(),
        src.map(|s| s.transport.as_str()),
        src.map(|s| s.address.to_string()),
        src.and_then(|s| s.connection_id).map(u64_to_sql),
    ];
    collect(conn, SQL, p, subscription_from)?
        .pop()
        .ok_or_else(|| not_found(id))
}

pub(crate) fn next_local_cseq(conn: &Connection, id: &str) -> Result<u32, StoreError> {
    let cseq: Option<i64> = conn
        .prepare_cached(
            "UPDATE subscriptions SET local_cseq = MIN(local_cseq + 1, 4294967295) \
             WHERE id = ?1 RETURNING local_cseq",
        )
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(backend)?;
    u32_from(
        cseq.ok_or_else(|| not_found(id))?,
        "subscription local CSeq",
    )
}

pub(crate) fn reserve_local_cseq(
    conn: &Connection,
    id: &str,
    at_least: u32,
) -> Result<u32, StoreError> {
    let cseq: Option<i64> = conn
        .prepare_cached(
            "UPDATE subscriptions SET local_cseq = MAX(local_cseq, ?2) \
             WHERE id = ?1 RETURNING local_cseq",
        )
        .and_then(|mut s| s.query_row(params![id, at_least], |r| r.get(0)).optional())
        .map_err(backend)?;
    u32_from(
        cseq.ok_or_else(|| not_found(id))?,
        "subscription local CSeq",
    )
}

pub(crate) fn set_winfo_version(conn: &Connection, id: &str, v: u32) -> Result<(), StoreError> {
    let sql = "UPDATE subscriptions SET winfo_version = ?2 WHERE id = ?1";
    if execute(conn, sql, params![id, v])? == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub(crate) fn remove_subscription(
    conn: &Connection,
    id: &str,
) -> Result<Option<Subscription>, StoreError> {
    // SUBSCRIPTION_COLUMNS spelled out, as in `update_subscription`.
    const SQL: &str = "DELETE FROM subscriptions WHERE id = ?1 RETURNING id, event, watcher, \
         display_name, resource, call_id, local_tag, remote_tag, local_cseq, remote_cseq, \
         local_uri, remote_uri, remote_target, local_contact, route_set, secure, state, reason, \
         expires_at, transport, source, connection_id, winfo_version, created_at";
    Ok(collect(conn, SQL, [id], subscription_from)?.pop())
}

/// Whether there was a subscription `id` to delete.
pub(crate) fn delete_subscription(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(execute(conn, "DELETE FROM subscriptions WHERE id = ?1", [id])? > 0)
}

pub(crate) fn subscriptions_to(
    conn: &Connection,
    resource: &Address,
    event: &str,
    now: Timestamp,
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
         WHERE resource = ?1 AND event = ?2 AND expires_at > ?3 ORDER BY created_at, id"
    );
    let p = params![resource.as_str(), event, ts(now)];
    collect(conn, &sql, p, subscription_from)
}

pub(crate) fn subscriptions_of(
    conn: &Connection,
    watcher: &Address,
    now: Timestamp,
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions INDEXED BY subscriptions_by_watcher \
         WHERE watcher = ?1 AND expires_at > ?2 ORDER BY created_at, id"
    );
    let p = params![watcher.as_str(), ts(now)];
    collect(conn, &sql, p, subscription_from)
}

pub(crate) fn load_live_subscriptions(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<Subscription>, StoreError> {
    // A full scan in rowid order: on a restart nearly every row is live, and sorting a
    // million rows in SQL would cost more than the scan.
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions NOT INDEXED WHERE expires_at > ?1"
    );
    let mut v = collect(conn, &sql, [ts(now)], subscription_from)?;
    v.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(v)
}

/// [`crate::RestoreStore::load_live_subscriptions_sharded`]: the table's rowid range split
/// between one thread per core, each with its own read connection, decoding and sharding its
/// rows (decoding a million rows is most of a restart's reading).
pub(crate) fn load_live_subscriptions_sharded(
    path: &std::path::Path,
    reader: &Connection,
    now: Timestamp,
    shards: usize,
    shard_of: crate::restore::ShardOf<'_>,
) -> Result<Vec<Vec<Subscription>>, StoreError> {
    let shards = shards.max(1);
    let (lo, hi, rows): (Option<i64>, Option<i64>, i64) = reader
        .query_row(
            "SELECT min(rowid), max(rowid), count(*) FROM subscriptions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(backend)?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok((0..shards).map(|_| Vec::new()).collect());
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let step = (hi - lo) / i64::try_from(threads).unwrap_or(1) + 1;
    // Room for a thread's share of the rows in each shard: growing a vector of a million
    // subscriptions copies it into fresh pages again and again.
    let room = usize::try_from(rows).unwrap_or(0) / threads / shards * 9 / 8;
    let parts: Vec<Result<Vec<Vec<Subscription>>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let first = lo + step * i64::try_from(t).unwrap_or(0);
                let last = first.saturating_add(step - 1).min(hi);
                scope.spawn(move || scan_range(path, (first, last), now, shards, room, shard_of))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(corrupt("subscription scan thread"))))
            .collect()
    });
    let mut parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    // Shard by shard, each into a vector of its final size: the threads' parts of a shard are
    // freed as soon as it is joined, and nothing is copied twice.
    let mut out: Vec<Vec<Subscription>> = Vec::with_capacity(shards);
    for i in 0..shards {
        let len = parts.iter().map(|p| p.get(i).map_or(0, Vec::len)).sum();
        let mut all = Vec::with_capacity(len);
        for part in &mut parts {
            if let Some(v) = part.get_mut(i) {
                all.append(v);
                *v = Vec::new();
            }
        }
        out.push(all);
    }
    Ok(out)
}

fn scan_range(
    path: &std::path::Path,
    (first, last): (i64, i64),
    now: Timestamp,
    shards: usize,
    room: usize,
    shard_of: crate::restore::ShardOf<'_>,
) -> Result<Vec<Vec<Subscription>>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
         WHERE rowid BETWEEN ?1 AND ?2 AND expires_at > ?3"
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let mut rows = stmt.query(params![first, last, ts(now)]).map_err(backend)?;
    let mut out: Vec<Vec<Subscription>> = (0..shards).map(|_| Vec::with_capacity(room)).collect();
    let end = shards - 1;
    while let Some(row) = rows.next().map_err(backend)? {
        let s = subscription_from(row)?;
        if let Some(v) = out.get_mut(shard_of(&s.resource).min(end)) {
            v.push(s);
        }
    }
    Ok(out)
}

/// [`crate::RestoreStore::load_authorizations`].
pub(crate) fn load_authorizations(
    conn: &Connection,
) -> Result<Vec<WatcherAuthorization>, StoreError> {
    let sql = "SELECT presentity, watcher, decision FROM watcher_authorizations \
               ORDER BY presentity, watcher";
    collect(conn, sql, [], |r| {
        let presentity: String = get(r, 0)?;
        let watcher: String = get(r, 1)?;
        Ok(WatcherAuthorization {
            presentity: address(&presentity, "authorizing presentity")?,
            watcher: address(&watcher, "authorized watcher")?,
            decision: decision_from(get(r, 2)?)?,
        })
    })
}

pub(crate) fn purge_expired_subscriptions(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE expires_at <= ?1 \
         ORDER BY created_at, id"
    );
    let expired = collect(conn, &sql, [ts(now)], subscription_from)?;
    execute(
        conn,
        "DELETE FROM subscriptions WHERE expires_at <= ?1",
        [ts(now)],
    )?;
    Ok(expired)
}

// ---- authorizations ----

fn decision_to_sql(d: WatcherDecision) -> i64 {
    match d {
        WatcherDecision::Allow => 0,
        WatcherDecision::Block => 1,
        WatcherDecision::PoliteBlock => 2,
    }
}

fn decision_from(v: i64) -> Result<WatcherDecision, StoreError> {
    match v {
        0 => Ok(WatcherDecision::Allow),
        1 => Ok(WatcherDecision::Block),
        2 => Ok(WatcherDecision::PoliteBlock),
        _ => Err(corrupt("watcher decision")),
    }
}

pub(crate) fn set_authorization(
    conn: &Connection,
    presentity: &Address,
    watcher: &Address,
    d: WatcherDecision,
) -> Result<(), StoreError> {
    execute(
        conn,
        "INSERT OR REPLACE INTO watcher_authorizations (presentity, watcher, decision) \
         VALUES (?1, ?2, ?3)",
        params![presentity.as_str(), watcher.as_str(), decision_to_sql(d)],
    )
    .map(drop)
}

pub(crate) fn authorization(
    conn: &Connection,
    presentity: &Address,
    watcher: &Address,
) -> Result<Option<WatcherDecision>, StoreError> {
    let sql = "SELECT decision FROM watcher_authorizations WHERE presentity = ?1 AND watcher = ?2";
    let p = params![presentity.as_str(), watcher.as_str()];
    collect(conn, sql, p, |r| decision_from(get(r, 0)?)).map(|mut v| v.pop())
}

pub(crate) fn list_authorizations(
    conn: &Connection,
    presentity: &Address,
) -> Result<Vec<WatcherAuthorization>, StoreError> {
    let sql = "SELECT watcher, decision FROM watcher_authorizations WHERE presentity = ?1 \
               ORDER BY watcher";
    collect(conn, sql, [presentity.as_str()], |r| {
        let watcher: String = get(r, 0)?;
        Ok(WatcherAuthorization {
            presentity: presentity.clone(),
            watcher: address(&watcher, "authorized watcher")?,
            decision: decision_from(get(r, 1)?)?,
        })
    })
}

pub(crate) fn remove_authorization(
    conn: &Connection,
    presentity: &Address,
    watcher: &Address,
) -> Result<bool, StoreError> {
    let sql = "DELETE FROM watcher_authorizations WHERE presentity = ?1 AND watcher = ?2";
    Ok(execute(conn, sql, params![presentity.as_str(), watcher.as_str()])? > 0)
}
