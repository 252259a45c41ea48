//! A virtual clock: time moves only when a test says so, so that 64·T1 timeouts take
//! microseconds (STYLE.md item 8).

use std::time::{Duration, Instant};

/// The current virtual instant. It starts at a real `Instant` (the only clock read) and then
/// advances only through [`VirtualClock::advance`] and [`VirtualClock::advance_to`].
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    start: Instant,
    now: Instant,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new()
    }
}

impl VirtualClock {
    pub fn new() -> VirtualClock {
        let start = Instant::now();
        VirtualClock { start, now: start }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The instant `d` after the clock's start (for schedules written as offsets).
    pub fn at(&self, d: Duration) -> Instant {
        self.start + d
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Moves to `t`; an instant in the past leaves the clock where it is (time never runs
    /// backwards).
    pub fn advance_to(&mut self, t: Instant) {
        self.now = self.now.max(t);
    }
}
