//! The `waiting` state of watcher information (RFC 3857 §4.7.1): a subscription that expired
//! while pending leaves its watcher waiting, so that a presentity who was away can still see
//! who tried to watch them and answer. The wait ends when the presentity answers (`approved`
//! or `rejected`), when the watcher subscribes again (`giveup`: the new subscription is
//! pending in its place), or after [`GIVE_UP_AFTER_MS`] (`giveup`). Kept in memory, at most
//! [`MAX_WAITING`] per presentity (the oldest give up first).

use super::{now_millis, State, WatcherRow};
use parley_presence::winfo::{WatcherEvent, WatcherStatus};
use parley_store::Address;
use std::collections::HashMap;

/// How long a watcher waits for an answer (RFC 3857 §4.7.1 leaves it to the server: long
/// enough for a presentity back from a trip to see who tried).
pub(super) const GIVE_UP_AFTER_MS: i64 = 7 * 24 * 3600 * 1000;
/// Waiting watchers kept per presentity (RFC 3857 §4.7.1 asks for a bound).
pub(super) const MAX_WAITING: usize = 100;

/// One waiting watcher.
#[derive(Debug, Clone)]
struct Waiter {
    watcher: Address,
    row: WatcherRow,
    give_up_at: i64,
}

/// The waiting watchers of each presentity, oldest first.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    by_presentity: HashMap<Address, Vec<Waiter>>,
}

impl Waiting {
    /// The earliest give-up time (unix milliseconds).
    pub fn poll_timeout(&self) -> Option<i64> {
        self.by_presentity
            .values()
            .flatten()
            .map(|w| w.give_up_at)
            .min()
    }

    /// The rows of the watchers waiting for `presentity`.
    pub fn rows(&self, presentity: &Address) -> impl Iterator<Item = &WatcherRow> {
        self.by_presentity
            .get(presentity)
            .into_iter()
            .flatten()
            .map(|w| &w.row)
    }

    fn remove(&mut self, presentity: &Address, keep: impl Fn(&Waiter) -> bool) -> Vec<Waiter> {
        let Some(list) = self.by_presentity.get_mut(presentity) else {
            return Vec::new();
        };
        let (kept, gone): (Vec<Waiter>, Vec<Waiter>) = list.drain(..).partition(keep);
        *list = kept;
        if list.is_empty() {
            self.by_presentity.remove(presentity);
        }
        gone
    }
}

impl State {
    /// The pending subscription `row` of `watcher` to `presentity` lapsed: the watcher waits.
    pub(super) fn start_waiting(
        &mut self,
        presentity: &Address,
        watcher: &Address,
        row: WatcherRow,
    ) {
        let row = WatcherRow {
            status: WatcherStatus::Waiting,
            event: WatcherEvent::Timeout,
            expiration: None,
            ..row
        };
        let give_up_at = now_millis(&self.ctx).saturating_add(GIVE_UP_AFTER_MS);
        let list = self
            .waiting
            .by_presentity
            .entry(presentity.clone())
            .or_default();
        list.push(Waiter {
            watcher: watcher.clone(),
            row,
            give_up_at,
        });
        let excess = list.len().saturating_sub(MAX_WAITING);
        let dropped: Vec<Waiter> = list.drain(..excess).collect();
        for w in dropped {
            self.report_ended(presentity, w.row, WatcherEvent::Giveup);
        }
        self.winfo_changed(presentity);
    }

    /// The wait of `watcher` for `presentity` (if any) is over with `event`.
    pub(super) fn end_waiting(
        &mut self,
        presentity: &Address,
        watcher: &Address,
        event: WatcherEvent,
    ) {
        let gone = self.waiting.remove(presentity, |w| &w.watcher != watcher);
        if gone.is_empty() {
            return;
        }
        for w in gone {
            self.report_ended(presentity, w.row, event);
        }
        self.winfo_changed(presentity);
    }

    /// Watchers who waited too long give up.
    pub(super) fn give_up_waiting(&mut self, now_ms: i64) {
        let presentities: Vec<Address> = self.waiting.by_presentity.keys().cloned().collect();
        for p in presentities {
            let gone = self.waiting.remove(&p, |w| w.give_up_at > now_ms);
            if gone.is_empty() {
                continue;
            }
            for w in gone {
                self.report_ended(&p, w.row, WatcherEvent::Giveup);
            }
            self.winfo_changed(&p);
        }
    }
}
