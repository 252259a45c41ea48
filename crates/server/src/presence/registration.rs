//! A user who registers but never publishes appears `open` while registered and `closed`
//! after (issue 4; `parley_presence::default_document`). A REGISTER tells the presence task
//! at once ([`super::PresenceJob::Registered`]); a binding that simply runs out does not, so
//! the task keeps one timer per watched presentity at its earliest binding expiry and tells
//! the watchers when it passes.

use super::index::WallDeadlines;
use super::State;
use parley_store::Address;

/// The earliest binding expiry (unix milliseconds) of each watched presentity that has
/// bindings. Whether a watched presentity is registered is read here, not from the store at
/// every NOTIFY.
#[derive(Debug, Default)]
pub(super) struct BindingExpiry {
    next: WallDeadlines<Address>,
}

impl BindingExpiry {
    /// The earliest expiry of all.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.next.next()
    }

    /// The presentities whose earliest binding has expired at `now_ms`; forgotten until
    /// tracked again.
    pub fn due(&mut self, now_ms: i64) -> Vec<Address> {
        self.next.due(now_ms)
    }

    pub fn set(&mut self, presentity: &Address, at: Option<i64>) {
        self.next.set(presentity, at);
    }

    /// Whether the tracked `presentity` has a live binding.
    fn tracked(&self, presentity: &Address) -> bool {
        self.next.contains(presentity)
    }
}

impl State {
    /// Sets (or clears) the binding timer of `presentity`: armed while someone watches it
    /// and it has live bindings.
    pub(super) async fn track_bindings(&mut self, presentity: &Address) {
        if !self.by_resource.contains_key(presentity) {
            self.bindings.set(presentity, None);
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
        let at = earliest.and_then(|ms| i64::try_from(ms).ok());
        self.bindings.set(presentity, at);
    }

    /// Whether `presentity` has a live binding: known without the store while it is watched
    /// (its bindings are tracked then).
    pub(super) async fn registered(&self, presentity: &Address) -> bool {
        if self.by_resource.contains_key(presentity) {
            return self.bindings.tracked(presentity);
        }
        let (key, at) = (presentity.clone(), self.ctx.clock.now());
        self.ctx
            .store(move |s| s.live_bindings(&key, at))
            .await
            .is_ok_and(|b| !b.is_empty())
    }
}
