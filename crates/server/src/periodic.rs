//! Housekeeping that runs on a timer until the server stops.

use std::future::Future;
use std::time::Duration;

/// Runs `work` at once and then every `interval` (at least a second) until `shutdown`; a tick
/// missed while `work` ran is not made up, so a slow store never queues a burst of runs.
pub async fn every<F, W>(interval: Duration, shutdown: impl Future<Output = ()>, mut work: F)
where
    F: FnMut() -> W,
    W: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => work().await,
        }
    }
}
