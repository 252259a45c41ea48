//! Wall-clock time for the services. Expiry of bindings, nonces and the `Date` of offline
//! messages are wall-clock quantities (they survive restarts), so they use the system clock,
//! read here and nowhere else; the decision logic takes it as an argument and is tested with
//! fixed times.

use parley_store::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as the store counts time (unix milliseconds). A clock before 1970 reads as 1970.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_unix_millis(millis)
}
