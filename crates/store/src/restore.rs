//! Bulk reads for a restart: everything the presence service takes back into memory, in a few
//! scans instead of a query per presentity (issue 5: a node holding a million subscriptions
//! is back in service within seconds).

use crate::address::Address;
use crate::error::StoreError;
use crate::model::Timestamp;
use crate::presence::{Subscription, WatcherAuthorization};

/// Picks the shard of a presentity: the server keeps each presentity's state in one shard.
pub type ShardOf<'a> = &'a (dyn Fn(&Address) -> usize + Sync);

/// What a restarting server reads in bulk.
pub trait RestoreStore {
    /// Every subscription live at `now`, split into `shards` lists by `shard_of(resource)`
    /// (an index past the end counts as the last shard), in no particular order: whoever
    /// needs an order sorts what it shows (a million rows are not sorted on every restart).
    fn load_live_subscriptions_sharded(
        &self,
        now: Timestamp,
        shards: usize,
        shard_of: ShardOf<'_>,
    ) -> Result<Vec<Vec<Subscription>>, StoreError>;

    /// Every stored decision of every presentity, ordered by presentity then watcher.
    fn load_authorizations(&self) -> Result<Vec<WatcherAuthorization>, StoreError>;

    /// For each address of record with a binding live at `now`, when its earliest live
    /// binding expires; ordered by address of record.
    fn load_binding_expiries(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(Address, Timestamp)>, StoreError>;
}

/// Splits `subs` by shard, keeping their order within each shard.
pub(crate) fn split(
    subs: Vec<Subscription>,
    shards: usize,
    shard_of: ShardOf<'_>,
) -> Vec<Vec<Subscription>> {
    let mut out: Vec<Vec<Subscription>> = (0..shards.max(1)).map(|_| Vec::new()).collect();
    let last = out.len() - 1;
    for s in subs {
        let i = shard_of(&s.resource).min(last);
        if let Some(v) = out.get_mut(i) {
            v.push(s);
        }
    }
    out
}
