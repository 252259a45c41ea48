//! The transaction timers of RFC 3261 §17 as an enum plus a fixed table of deadlines, and
//! their durations (RFC 3261 Appendix A, Table 4).
//!
//! Each transaction owns one [`TimerTable`]; its earliest deadline is the transaction's next
//! wake-up, and the endpoint keeps the minimum over all transactions in an ordered set.

use crate::endpoint::TimerConfig;
use std::time::{Duration, Instant};

/// A transaction timer (RFC 3261 Appendix A, Table 4). Timer C belongs to proxies (§16.6)
/// and is not part of the transaction layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Table 4: INVITE request retransmit interval, UDP only; initially T1, doubling (§17.1.1.2).
    A,
    /// Table 4: INVITE client transaction timeout; 64·T1 (§17.1.1.2). Started again when a
    /// CANCEL of the INVITE is sent: a cancelled INVITE waits that long for its final (§9.1).
    B,
    /// Table 4: wait time for response retransmits; ≥ 32 s for UDP, 0 for reliable (§17.1.1.2).
    D,
    /// Table 4: non-INVITE request retransmit interval, UDP only; T1 doubling up to T2 (§17.1.2.2).
    E,
    /// Table 4: non-INVITE client transaction timeout; 64·T1 (§17.1.2.2).
    F,
    /// Table 4: INVITE final response retransmit interval; T1 doubling up to T2 (§17.2.1).
    G,
    /// Table 4: wait time for ACK receipt; 64·T1 (§17.2.1).
    H,
    /// Table 4: wait time for ACK retransmits; T4 for UDP, 0 for reliable (§17.2.1).
    I,
    /// Table 4: wait time for non-INVITE request retransmits; 64·T1 for UDP, 0 for reliable (§17.2.2).
    J,
    /// Table 4: wait time for response retransmits; T4 for UDP, 0 for reliable (§17.1.2.2).
    K,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 10] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
    ];

    fn index(self) -> usize {
        match self {
            Timer::A => 0,
            Timer::B => 1,
            Timer::D => 2,
            Timer::E => 3,
            Timer::F => 4,
            Timer::G => 5,
            Timer::H => 6,
            Timer::I => 7,
            Timer::J => 8,
            Timer::K => 9,
        }
    }

    /// Whether this timer ends a transaction that failed (and tells the TU).
    pub fn is_timeout(self) -> bool {
        matches!(self, Timer::B | Timer::F | Timer::H)
    }

    /// The initial duration of this timer (RFC 3261 Table 4). `reliable` is whether the
    /// transaction runs over a reliable transport; the retransmission timers A, E and G are
    /// never started on one, and D, I, J, K are zero there.
    pub fn duration(self, config: &TimerConfig, reliable: bool) -> Duration {
        let t1_64 = config.t1.saturating_mul(64);
        match self {
            Timer::A | Timer::E | Timer::G => config.t1,
            Timer::B | Timer::F | Timer::H => t1_64,
            // "at least 32 seconds for unreliable transports" (§17.1.1.2): the client does not
            // know the server's T1, so 64·T1 is floored at 32 s.
            Timer::D if reliable => Duration::ZERO,
            Timer::D => t1_64.max(Duration::from_secs(32)),
            Timer::I | Timer::K if reliable => Duration::ZERO,
            Timer::I | Timer::K => config.t4,
            Timer::J if reliable => Duration::ZERO,
            Timer::J => t1_64,
        }
    }
}

/// The next retransmission interval after `current` for timers E (in Trying) and G: doubling,
/// capped at T2 (RFC 3261 §17.1.2.2, §17.2.1). Timer A doubles without a cap (§17.1.1.2).
pub fn backoff(current: Duration, config: &TimerConfig) -> Duration {
    current.saturating_mul(2).min(config.t2)
}

/// One transaction's deadlines: a fixed slot per [`Timer`]; the earliest is its next wake-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 10],
}

impl TimerTable {
    /// Starts (or restarts) `timer` to fire at `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Stops every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 10];
    }

    /// When `timer` fires, if it is running.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest deadline of any running timer.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The earliest timer due at `now`, stopped as it is returned. Of timers due at the same
    /// instant the transaction timeouts (B, F, H) come first, so that a transaction that
    /// gives up does not retransmit once more; other ties go in table order.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, _) = Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .filter(|&(_, at)| at <= now)
            .min_by_key(|&(t, at)| (at, !t.is_timeout(), t))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_4_defaults() {
        let c = TimerConfig::default();
        let s = Duration::from_secs;
        assert_eq!(Timer::A.duration(&c, false), Duration::from_millis(500));
        assert_eq!(Timer::B.duration(&c, true), s(32));
        assert_eq!(Timer::D.duration(&c, false), s(32));
        assert_eq!(Timer::D.duration(&c, true), s(0));
        assert_eq!(Timer::H.duration(&c, false), s(32));
        assert_eq!(Timer::I.duration(&c, false), s(5));
        assert_eq!(Timer::J.duration(&c, false), s(32));
        assert_eq!(Timer::J.duration(&c, true), s(0));
        assert_eq!(Timer::K.duration(&c, false), s(5));
        assert_eq!(backoff(s(2), &c), s(4));
        assert_eq!(backoff(s(4), &c), s(4));
    }
}
