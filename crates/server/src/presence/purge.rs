//! Reclaims the store rows of publications and subscriptions that expired while nobody was
//! there to remove them (the server was down, or a removal failed). The shards remove what
//! expires while they run; every read skips expired rows; this only keeps the tables from
//! growing for good.

use std::sync::Arc;
use std::time::Duration;

use parley_store::Timestamp;

use crate::context::ServerContext;

/// Rows are left alone this long after they expire, so a shard still ending a subscription
/// (its final NOTIFY, RFC 6665 §4.2.2) finds its row.
const GRACE: Duration = Duration::from_secs(120);

/// Deletes expired presence rows every `purge_interval` until `shutdown`.
pub async fn purge(ctx: Arc<ServerContext>, shutdown: impl std::future::Future<Output = ()>) {
    let interval = ctx.registrar.purge_interval;
    crate::periodic::every(interval, shutdown, || {
        let ctx = ctx.clone();
        async move {
            let now = ctx.clock.now().as_unix_millis();
            let grace = u64::try_from(GRACE.as_millis()).unwrap_or(u64::MAX);
            let before = Timestamp::from_unix_millis(now.saturating_sub(grace));
            let purged = ctx
                .store(move |s| {
                    let subs = s.purge_expired_subscriptions(before)?.len();
                    let pubs = s.purge_expired_publications(before)?.len();
                    Ok((subs, pubs))
                })
                .await;
            match purged {
                Ok((0, 0)) => {}
                Ok((subscriptions, publications)) => {
                    tracing::debug!(subscriptions, publications, "expired presence rows deleted");
                }
                Err(e) => tracing::warn!(error = %e, "cannot purge expired presence rows"),
            }
        }
    })
    .await;
}
