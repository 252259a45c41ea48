//! A user who registers but never publishes appears `open` while registered and `closed`
//! after (issue 4; `parley_presence::default_document`). A REGISTER tells the presence task
//! at once ([`super::PresenceJob::Registered`]); a binding that simply runs out does not, so
//! the task keeps one timer per watched presentity at its earliest binding expiry and tells
//! the watchers when it passes.

use super::State;
use parley_store::Address;
use std::collections::HashMap;

/// The earliest binding expiry (unix milliseconds) of each watched presentity that has
/// bindings.
#[derive(Debug, Default)]
pub(super) struct BindingExpiry {
    next: HashMap<Address, i64>,
}

impl BindingExpiry {
    /// The earliest expiry of all.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.next.values().min().copied()
    }

    /// The presentities whose earliest binding has expired at `now_ms`; forgotten until
    /// tracked again.
    pub fn due(&mut self, now_ms: i64) -> Vec<Address> {
        let due: Vec<Address> = self
            .next
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(who, _)| who.clone())
            .collect();
        for who in &due {
            self.next.remove(who);
        }
        due
    }
}

impl State {
    /// Sets (or clears) the binding timer of `presentity`: armed while someone watches it
    /// and it has live bindings.
    pub(super) async fn track_bindings(&mut self, presentity: &Address) {
        if !self.by_resource.contains_key(presentity) {
            self.bindings.next.remove(presentity);
            return;
        }
        let (key, now) = (presentity.clone(), self.ctx.clock.now());
        let earliest = match self.ctx.store(move |s| s.live_bindings(&key, now)).await {
            Ok(b) => b.iter().map(|b| b.expires_at.as_unix_millis()).min(),
            Err(e) => {
                tracing::warn!(error = %e, "bindings not read");
                None
            }
        };
        match earliest.and_then(|ms| i64::try_from(ms).ok()) {
            Some(at) => {
                self.bindings.next.insert(presentity.clone(), at);
            }
            None => {
                self.bindings.next.remove(presentity);
            }
        }
    }
}
