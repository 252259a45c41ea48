//! Nonce-count replay protection (RFC 7616 §3.4 and §5.5; RFC 3261 §22.4 via RFC 2617 §3.2.2):
//! for each live nonce, the highest `nc` accepted so far; a request whose `nc` is not higher
//! is a replay.
//!
//! Bounded: at most `capacity` nonces are remembered. When full, the nonce issued earliest is
//! forgotten (a new nonce issued no later than every remembered one is refused instead), and
//! from then on every nonce issued at or before that time which is not
//! remembered is refused as [`NcCheck::Forgotten`] (the client is challenged again with
//! `stale=true` and gets a fresh nonce). Forgetting therefore never opens a replay window; a
//! flood of authentications costs legitimate clients one extra round trip at worst.
//!
//! Sans-IO: time is an argument. Nonces older than their lifetime are dropped as they expire
//! (they are refused as expired by [`super::NonceKey::check`] anyway).

use std::collections::{BTreeSet, HashMap};

/// Default number of nonces remembered.
pub const DEFAULT_NONCE_COUNT_CAPACITY: usize = 65_536;

/// The highest nonce-count seen per live nonce.
#[derive(Debug)]
pub struct NonceCounts {
    capacity: usize,
    /// nonce -> (highest nc, issued_at).
    seen: HashMap<Box<str>, (u32, u64)>,
    /// (issued_at, nonce), oldest first: eviction and expiry order.
    order: BTreeSet<(u64, Box<str>)>,
    /// The latest issue time of a forgotten nonce.
    forgotten_up_to: Option<u64>,
}

/// What [`NonceCounts::check_and_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NcCheck {
    /// Higher than any `nc` seen with this nonce; now recorded.
    Fresh,
    /// Not higher than an `nc` already accepted with this nonce.
    Replayed,
    /// The nonce was forgotten to stay within capacity; its history is unknown.
    Forgotten,
}

impl NonceCounts {
    /// Remembers at most `capacity` nonces (at least 1).
    pub fn new(capacity: usize) -> NonceCounts {
        NonceCounts {
            capacity: capacity.max(1),
            seen: HashMap::new(),
            order: BTreeSet::new(),
            forgotten_up_to: None,
        }
    }

    /// Number of nonces remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops nonces issued more than `lifetime` seconds before `now`.
    pub fn purge(&mut self, now: u64, lifetime: u64) {
        while let Some((issued_at, _)) = self.order.first() {
            if now.saturating_sub(*issued_at) <= lifetime {
                break;
            }
            if let Some((_, nonce)) = self.order.pop_first() {
                self.seen.remove(&nonce);
            }
        }
    }

    /// Checks `nc` for a nonce (already verified as ours, issued at `issued_at`) and records it
    /// if it is fresh. Call only after the response digest has been verified, so that forged
    /// requests cannot advance the count.
    pub fn check_and_record(
        &mut self,
        nonce: &str,
        issued_at: u64,
        nc: u32,
        now: u64,
        lifetime: u64,
    ) -> NcCheck {
        self.purge(now, lifetime);
        if let Some((highest, _)) = self.seen.get_mut(nonce) {
            if nc <= *highest {
                return NcCheck::Replayed;
            }
            *highest = nc;
            return NcCheck::Fresh;
        }
        if self.forgotten_up_to.is_some_and(|t| issued_at <= t) {
            return NcCheck::Forgotten;
        }
        if self.seen.len() >= self.capacity {
            let oldest = self.order.first().map_or(0, |(t, _)| *t);
            if issued_at <= oldest {
                // It would be the first to go: refuse it rather than forget a newer one.
                return NcCheck::Forgotten;
            }
            while self.seen.len() >= self.capacity {
                let Some((t, old)) = self.order.pop_first() else {
                    break;
                };
                self.seen.remove(&old);
                self.forgotten_up_to = Some(self.forgotten_up_to.map_or(t, |f| f.max(t)));
            }
        }
        self.seen.insert(nonce.into(), (nc, issued_at));
        self.order.insert((issued_at, nonce.into()));
        NcCheck::Fresh
    }
}

impl Default for NonceCounts {
    fn default() -> NonceCounts {
        NonceCounts::new(DEFAULT_NONCE_COUNT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_is_refused() {
        let mut c = NonceCounts::new(8);
        assert_eq!(c.check_and_record("a", 100, 1, 100, 300), NcCheck::Fresh);
        assert_eq!(c.check_and_record("a", 100, 1, 101, 300), NcCheck::Replayed);
        assert_eq!(c.check_and_record("a", 100, 3, 101, 300), NcCheck::Fresh);
        assert_eq!(c.check_and_record("a", 100, 2, 101, 300), NcCheck::Replayed);
        assert_eq!(c.check_and_record("b", 100, 1, 101, 300), NcCheck::Fresh);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn expired_nonces_are_dropped() {
        let mut c = NonceCounts::new(8);
        c.check_and_record("a", 100, 1, 100, 300);
        c.check_and_record("b", 200, 1, 200, 300);
        c.purge(401, 300);
        assert_eq!(c.len(), 1);
        c.purge(501, 300);
        assert!(c.is_empty());
    }

    #[test]
    fn eviction_never_opens_a_replay_window() {
        let mut c = NonceCounts::new(2);
        assert_eq!(c.check_and_record("a", 10, 1, 10, 300), NcCheck::Fresh);
        assert_eq!(c.check_and_record("b", 11, 1, 11, 300), NcCheck::Fresh);
        // "c" evicts "a", the earliest.
        assert_eq!(c.check_and_record("c", 12, 1, 12, 300), NcCheck::Fresh);
        assert_eq!(c.len(), 2);
        assert_eq!(c.check_and_record("a", 10, 1, 13, 300), NcCheck::Forgotten);
        assert_eq!(c.check_and_record("a", 10, 2, 13, 300), NcCheck::Forgotten);
        // Still remembered.
        assert_eq!(c.check_and_record("b", 11, 1, 13, 300), NcCheck::Replayed);
        // A nonce issued no later than an evicted one and never seen is refused too.
        let mut c = NonceCounts::new(1);
        assert_eq!(c.check_and_record("x", 20, 1, 20, 300), NcCheck::Fresh);
        assert_eq!(c.check_and_record("y", 19, 1, 20, 300), NcCheck::Forgotten);
        assert_eq!(c.check_and_record("x", 20, 1, 20, 300), NcCheck::Replayed);
        assert_eq!(c.check_and_record("z", 21, 1, 21, 300), NcCheck::Fresh);
        assert_eq!(c.check_and_record("x", 20, 2, 21, 300), NcCheck::Forgotten);
    }
}
