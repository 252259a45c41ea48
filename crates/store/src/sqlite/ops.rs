//! The SQL of each operation, as functions over a connection (the writer's savepoint or the
//! reader), and the conversions between rows and the model.

use std::net::SocketAddr;

use rusqlite::{params, Connection, OptionalExtension, Params, Row};

use super::backend;
use crate::address::Address;
use crate::error::StoreError;
use crate::model::{
    Binding, BindingChange, Ha1Set, MessageId, NewOfflineMessage, OfflineMessage, Source,
    Timestamp, User,
};

pub(super) fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt { what }
}

pub(super) fn ts(t: Timestamp) -> i64 {
    // `Timestamp` never exceeds `i64::MAX` milliseconds.
    i64::try_from(t.as_unix_millis()).unwrap_or(i64::MAX)
}

pub(super) fn ts_from(v: i64) -> Result<Timestamp, StoreError> {
    u64::try_from(v)
        .map(Timestamp::from_unix_millis)
        .map_err(|_| corrupt("timestamp"))
}

/// `u64` ids are stored bit for bit in SQLite's signed 64-bit integers.
pub(super) fn u64_to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

pub(super) fn u64_from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

pub(super) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, i: usize) -> Result<T, StoreError> {
    row.get(i).map_err(backend)
}

pub(super) fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    convert: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = stmt.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(convert(row)?);
    }
    Ok(out)
}

pub(super) fn execute(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(backend)
}

// ---- users ----

const USER_COLUMNS: &str = "address, realm, ha1_md5, ha1_sha256";

fn user_from(row: &Row<'_>) -> Result<User, StoreError> {
    let address: String = get(row, 0)?;
    let ha1 = Ha1Set {
        realm: get(row, 1)?,
        md5: get(row, 2)?,
        sha256: get(row, 3)?,
    };
    Ok(User {
        address: Address::parse(&address).map_err(|_| corrupt("user address"))?,
        ha1,
    })
}

pub(crate) fn add_user(conn: &Connection, user: &User) -> Result<(), StoreError> {
    if get_user(conn, &user.address)?.is_some() {
        return Err(StoreError::UserExists(user.address.clone()));
    }
    let h = &user.ha1;
    execute(
        conn,
        "INSERT INTO users (address, realm, ha1_md5, ha1_sha256) VALUES (?1, ?2, ?3, ?4)",
        params![user.address.as_str(), h.realm, h.md5, h.sha256],
    )
    .map(drop)
}

pub(crate) fn set_ha1(conn: &Connection, address: &Address, h: &Ha1Set) -> Result<(), StoreError> {
    let n = execute(
        conn,
        "UPDATE users SET realm = ?2, ha1_md5 = ?3, ha1_sha256 = ?4 WHERE address = ?1",
        params![address.as_str(), h.realm, h.md5, h.sha256],
    )?;
    if n == 0 {
        return Err(StoreError::UserNotFound(address.clone()));
    }
    Ok(())
}

pub(crate) fn remove_user(conn: &Connection, address: &Address) -> Result<(), StoreError> {
    super::writer::atomic(conn, |conn| remove_user_rows(conn, address))
}

fn remove_user_rows(conn: &Connection, address: &Address) -> Result<(), StoreError> {
    let a = address.as_str();
    if execute(conn, "DELETE FROM users WHERE address = ?1", [a])? == 0 {
        return Err(StoreError::UserNotFound(address.clone()));
    }
    execute(conn, "DELETE FROM bindings WHERE aor = ?1", [a])?;
    execute(
        conn,
        "DELETE FROM offline_messages WHERE recipient = ?1",
        [a],
    )?;
    execute(
        conn,
        "DELETE FROM watcher_authorizations WHERE presentity = ?1",
        [a],
    )?;
    Ok(())
}

pub(crate) fn get_user(conn: &Connection, address: &Address) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE address = ?1");
    Ok(collect(conn, &sql, [address.as_str()], user_from)?.pop())
}

pub(crate) fn list_users(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY address");
    collect(conn, &sql, [], user_from)
}

// ---- bindings ----

const BINDING_COLUMNS: &str = "aor, contact, q, expires_at, call_id, cseq, instance_id, reg_id, \
     path, transport, source, connection_id, user_agent";

fn binding_from(row: &Row<'_>) -> Result<Binding, StoreError> {
    let aor: String = get(row, 0)?;
    let q: Option<i64> = get(row, 2)?;
    let cseq: i64 = get(row, 5)?;
    let reg_id: Option<i64> = get(row, 7)?;
    let path: String = get(row, 8)?;
    let transport: Option<String> = get(row, 9)?;
    let source: Option<String> = get(row, 10)?;
    let connection_id: Option<i64> = get(row, 11)?;
    let source = match (transport, source) {
        (Some(transport), Some(address)) => Some(Source {
            transport,
            address: address
                .parse::<SocketAddr>()
                .map_err(|_| corrupt("binding source address"))?,
            connection_id: connection_id.map(u64_from_sql),
        }),
        (None, None) => None,
        _ => return Err(corrupt("binding source")),
    };
    Ok(Binding {
        aor: Address::parse(&aor).map_err(|_| corrupt("binding AOR"))?,
        contact: get(row, 1)?,
        q: q.map(u16::try_from)
            .transpose()
            .map_err(|_| corrupt("binding q"))?,
        expires_at: ts_from(get(row, 3)?)?,
        call_id: get(row, 4)?,
        cseq: u32::try_from(cseq).map_err(|_| corrupt("binding CSeq"))?,
        instance_id: get(row, 6)?,
        reg_id: reg_id
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt("binding reg-id"))?,
        path: if path.is_empty() {
            Vec::new()
        } else {
            path.split('\n').map(str::to_owned).collect()
        },
        source,
        user_agent: get(row, 12)?,
    })
}

fn upsert_binding(conn: &Connection, b: &Binding) -> Result<(), StoreError> {
    // Path elements hold no control characters (validated), so a newline separates them.
    let path = b.path.join("\n");
    let src = b.source.as_ref();
    execute(
        conn,
        "INSERT OR REPLACE INTO bindings (aor, contact, q, expires_at, call_id, cseq, \
         instance_id, reg_id, path, transport, source, connection_id, user_agent) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            b.aor.as_str(),
            b.contact,
            b.q,
            ts(b.expires_at),
            b.call_id,
            b.cseq,
            b.instance_id,
            b.reg_id,
            path,
            src.map(|s| s.transport.as_str()),
            src.map(|s| s.address.to_string()),
            src.and_then(|s| s.connection_id).map(u64_to_sql),
            b.user_agent,
        ],
    )
    .map(drop)
}

pub(crate) fn update_bindings(
    conn: &Connection,
    aor: &Address,
    changes: &[BindingChange],
    now: Timestamp,
) -> Result<Vec<Binding>, StoreError> {
    apply_binding_changes(conn, aor, changes)?;
    live_bindings(conn, aor, now)
}

/// Writes `changes` to the bindings of `aor`, in order, all or none.
pub(crate) fn apply_binding_changes(
    conn: &Connection,
    aor: &Address,
    changes: &[BindingChange],
) -> Result<(), StoreError> {
    match changes {
        [] => Ok(()),
        // One statement: atomic without a savepoint.
        [one] => apply_binding_change(conn, aor, one),
        _ => super::writer::atomic(conn, |conn| {
            changes
                .iter()
                .try_for_each(|c| apply_binding_change(conn, aor, c))
        }),
    }
}

fn apply_binding_change(
    conn: &Connection,
    aor: &Address,
    change: &BindingChange,
) -> Result<(), StoreError> {
    match change {
        BindingChange::Upsert(b) => upsert_binding(conn, b),
        BindingChange::Remove { contact } => remove_binding(conn, aor, contact).map(drop),
        BindingChange::RemoveAll => remove_all_bindings(conn, aor).map(drop),
    }
}

pub(crate) fn remove_binding(
    conn: &Connection,
    aor: &Address,
    contact: &str,
) -> Result<bool, StoreError> {
    let sql = "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2";
    Ok(execute(conn, sql, params![aor.as_str(), contact])? > 0)
}

pub(crate) fn remove_all_bindings(conn: &Connection, aor: &Address) -> Result<usize, StoreError> {
    execute(conn, "DELETE FROM bindings WHERE aor = ?1", [aor.as_str()])
}

pub(crate) fn live_bindings(
    conn: &Connection,
    aor: &Address,
    now: Timestamp,
) -> Result<Vec<Binding>, StoreError> {
    // The same text as BINDING_COLUMNS, spelled out: this runs for every REGISTER and
    // formatting the statement would cost more than finding it in the statement cache.
    const SQL: &str = "SELECT aor, contact, q, expires_at, call_id, cseq, instance_id, reg_id, \
         path, transport, source, connection_id, user_agent FROM bindings \
         WHERE aor = ?1 AND expires_at > ?2 ORDER BY contact";
    collect(conn, SQL, params![aor.as_str(), ts(now)], binding_from)
}

pub(crate) fn purge_expired_bindings(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<Binding>, StoreError> {
    let sql = format!(
        "SELECT {BINDING_COLUMNS} FROM bindings WHERE expires_at <= ?1 ORDER BY aor, contact"
    );
    let expired = collect(conn, &sql, [ts(now)], binding_from)?;
    execute(
        conn,
        "DELETE FROM bindings WHERE expires_at <= ?1",
        [ts(now)],
    )?;
    Ok(expired)
}

// ---- offline messages ----

const MESSAGE_COLUMNS: &str =
    "id, recipient, sender, content_type, body, received_at, attempts, next_attempt_at";

fn message_from(row: &Row<'_>) -> Result<OfflineMessage, StoreError> {
    let recipient: String = get(row, 1)?;
    let attempts: i64 = get(row, 6)?;
    let next: Option<i64> = get(row, 7)?;
    Ok(OfflineMessage {
        id: MessageId(u64_from_sql(get(row, 0)?)),
        recipient: Address::parse(&recipient).map_err(|_| corrupt("message recipient"))?,
        sender: get(row, 2)?,
        content_type: get(row, 3)?,
        body: get(row, 4)?,
        received_at: ts_from(get(row, 5)?)?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("message attempts"))?,
        next_attempt_at: next.map(ts_from).transpose()?,
    })
}

pub(crate) fn count_pending(conn: &Connection, recipient: &Address) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM offline_messages WHERE recipient = ?1")
        .and_then(|mut s| s.query_row([recipient.as_str()], |r| r.get(0)))
        .map_err(backend)?;
    usize::try_from(n).map_err(|_| corrupt("message count"))
}

pub(crate) fn enqueue_message(
    conn: &Connection,
    m: &NewOfflineMessage,
    max: usize,
) -> Result<MessageId, StoreError> {
    if count_pending(conn, &m.recipient)? >= max {
        return Err(StoreError::QueueFull {
            recipient: m.recipient.clone(),
            limit: max,
        });
    }
    execute(
        conn,
        "INSERT INTO offline_messages (recipient, sender, content_type, body, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.recipient.as_str(),
            m.sender,
            m.content_type,
            m.body,
            ts(m.received_at)
        ],
    )?;
    Ok(MessageId(u64_from_sql(conn.last_insert_rowid())))
}

pub(crate) fn pending_messages(
    conn: &Connection,
    recipient: &Address,
) -> Result<Vec<OfflineMessage>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM offline_messages WHERE recipient = ?1 \
         ORDER BY received_at, id"
    );
    collect(conn, &sql, [recipient.as_str()], message_from)
}

pub(crate) fn due_messages(
    conn: &Connection,
    now: Timestamp,
    max: usize,
) -> Result<Vec<OfflineMessage>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM offline_messages \
         WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 \
         ORDER BY received_at, id LIMIT ?2"
    );
    collect(conn, &sql, params![ts(now), limit(max)], message_from)
}

pub(crate) fn record_delivery_attempt(
    conn: &Connection,
    id: MessageId,
    next: Option<Timestamp>,
) -> Result<u32, StoreError> {
    let attempts: Option<i64> = conn
        .prepare_cached(
            "UPDATE offline_messages SET attempts = MIN(attempts + 1, 4294967295), \
             next_attempt_at = ?2 WHERE id = ?1 RETURNING attempts",
        )
        .and_then(|mut s| {
            s.query_row(params![u64_to_sql(id.0), next.map(ts)], |r| r.get(0))
                .optional()
        })
        .map_err(backend)?;
    let attempts = attempts.ok_or(StoreError::MessageNotFound(id))?;
    u32::try_from(attempts).map_err(|_| corrupt("message attempts"))
}

pub(crate) fn delete_message(conn: &Connection, id: MessageId) -> Result<bool, StoreError> {
    let sql = "DELETE FROM offline_messages WHERE id = ?1";
    Ok(execute(conn, sql, [u64_to_sql(id.0)])? > 0)
}
