//! [`RestoreStore`] on SQLite: one scan per table.

use rusqlite::params;

use super::ops::{collect, corrupt, get, ts, ts_from};
use super::presence_ops as pops;
use super::SqliteStore;
use crate::address::Address;
use crate::error::StoreError;
use crate::model::Timestamp;
use crate::presence::{Subscription, WatcherAuthorization};
use crate::restore::{RestoreStore, ShardOf};

impl RestoreStore for SqliteStore {
    fn load_live_subscriptions_sharded(
        &self,
        now: Timestamp,
        shards: usize,
        shard_of: ShardOf<'_>,
    ) -> Result<Vec<Vec<Subscription>>, StoreError> {
        pops::load_live_subscriptions_sharded(&self.path, &self.reader(), now, shards, shard_of)
    }

    fn load_authorizations(&self) -> Result<Vec<WatcherAuthorization>, StoreError> {
        pops::load_authorizations(&self.reader())
    }

    fn load_binding_expiries(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(Address, Timestamp)>, StoreError> {
        let sql = "SELECT aor, min(expires_at) FROM bindings WHERE expires_at > ?1 \
                   GROUP BY aor ORDER BY aor";
        collect(&self.reader(), sql, params![ts(now)], |r| {
            let aor: String = get(r, 0)?;
            Ok((
                Address::parse(&aor).map_err(|_| corrupt("binding address of record"))?,
                ts_from(get(r, 1)?)?,
            ))
        })
    }
}
