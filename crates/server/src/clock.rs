//! Wall-clock time for the services. Expiry of bindings, nonces and the `Date` of offline
//! messages are wall-clock quantities (they survive restarts), so they are read from a
//! [`WallClock`] in the server context: [`SystemClock`] in production, [`TokioClock`] in the
//! simulation tests, where it moves with tokio's (paused, virtual) time. The decision logic
//! takes the time as an argument and is tested with fixed times.

use parley_store::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait WallClock: Send + Sync + std::fmt::Debug {
    /// Now, as the store counts time (unix milliseconds).
    fn now(&self) -> Timestamp;
}

/// The system clock. A clock before 1970 reads as 1970.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> Timestamp {
        now()
    }
}

/// Now, from the system clock.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_unix_millis(millis)
}

/// A fixed start plus the time tokio's clock has moved since the clock was made: under
/// `#[tokio::test(start_paused = true)]` wall-clock time then moves with virtual time, so
/// bindings expire and retries fall due without waiting.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: Timestamp,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: Timestamp) -> TokioClock {
        TokioClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl WallClock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        Timestamp::from_unix_millis(self.start.as_unix_millis().saturating_add(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_moves_with_virtual_time() {
        let start = Timestamp::from_unix_millis(1_700_000_000_000);
        let clock = TokioClock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(
            clock.now().as_unix_millis(),
            start.as_unix_millis() + 3_600_000
        );
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().as_unix_secs() > 1_577_836_800);
    }
}
