//! Watcher information (RFC 3857, RFC 3858): a user subscribed to `presence.winfo` of their
//! own address learns who watches their presence. The first NOTIFY (and the one after each
//! SUBSCRIBE) carries full state; later ones only the watchers that changed, with versions
//! one apart. NOTIFYs are rate-controlled like presence ones: a burst of changes is coalesced
//! into one document computed when it is sent; a NOTIFY that fails makes the next one full.

use super::index::Key;
use super::watch::{Watch, WatchKind};
use super::{instant_now, State, PRESENCE};
pub use parley_presence::winfo::Watcher as WatcherRow;
use parley_presence::winfo::{WatcherEvent, WatcherInfo, WatcherList, WatcherStatus};
use parley_sip::subscription::{Reason, State as SubState};
use parley_store::Address;
use std::time::Instant;

/// The watcher-information row of a presence subscription (RFC 3858 §4): its id is the
/// subscription's, stable for its life.
fn row(w: &Watch, now: Instant, now_secs: u64) -> Option<WatcherRow> {
    let WatchKind::Presence { event, lapsed, .. } = &w.kind else {
        return None;
    };
    let (status, event) = match w.sub.state() {
        SubState::Pending => (WatcherStatus::Pending, WatcherEvent::Subscribe),
        SubState::Active => (WatcherStatus::Active, *event),
        // RFC 3857 §4.7.1: a pending subscription that times out moves to waiting.
        SubState::Terminated if *lapsed => (WatcherStatus::Waiting, WatcherEvent::Timeout),
        SubState::Terminated => (WatcherStatus::Terminated, ended_by(w, now)),
    };
    let live = matches!(status, WatcherStatus::Pending | WatcherStatus::Active);
    Some(WatcherRow {
        id: w.id.clone(),
        uri: format!("sip:{}", w.watcher),
        status,
        event,
        display_name: w.display_name.clone(),
        expiration: live.then(|| w.sub.remaining_secs(now)),
        duration_subscribed: Some(now_secs.saturating_sub(w.created_at.as_unix_secs())),
        lang: None,
    })
}

/// The winfo event of a terminated subscription (RFC 3857 §3.2.2), from the reason of its
/// final NOTIFY; one removed without a final NOTIFY (the watcher answered 481, or never
/// answered) timed out.
fn ended_by(w: &Watch, now: Instant) -> WatcherEvent {
    let value = w.sub.subscription_state_value(now);
    let reason = value
        .split(';')
        .find_map(|p| p.trim().strip_prefix("reason="))
        .map(Reason::parse);
    match reason {
        Some(Reason::Rejected) => WatcherEvent::Rejected,
        Some(Reason::Deactivated) => WatcherEvent::Deactivated,
        Some(Reason::Probation) => WatcherEvent::Probation,
        Some(Reason::Giveup) => WatcherEvent::Giveup,
        Some(Reason::Noresource) => WatcherEvent::Noresource,
        _ => WatcherEvent::Timeout,
    }
}

impl State {
    /// The watchers of `presentity`'s presence now, oldest first.
    pub(super) fn watcher_rows(&self, presentity: &Address) -> Vec<WatcherRow> {
        let now = instant_now();
        let now_secs = self.ctx.clock.now().as_unix_secs();
        let mut watches: Vec<&Watch> = self
            .by_resource
            .get(presentity)
            .into_iter()
            .flatten()
            .filter_map(|id| self.watches.get(id))
            .collect();
        watches.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        watches
            .into_iter()
            .filter_map(|w| row(w, now, now_secs))
            .chain(self.waiting.rows(presentity).cloned())
            .collect()
    }

    fn watcher_list(&self, presentity: &Address, extra: &[WatcherRow]) -> Vec<WatcherList> {
        let mut watchers = self.watcher_rows(presentity);
        watchers.extend(extra.iter().cloned());
        vec![WatcherList {
            resource: format!("sip:{presentity}"),
            package: PRESENCE.to_owned(),
            watchers,
        }]
    }

    /// A presence subscription to `presentity` changed state: its winfo subscribers are
    /// notified if what they were told is out of date.
    pub(super) fn winfo_changed(&mut self, presentity: &Address) {
        let Some(ids) = self.winfo_of.get(presentity).cloned() else {
            return;
        };
        let now = instant_now();
        for id in ids {
            let ended = match self.watches.get(&id).map(|w| &w.kind) {
                Some(WatchKind::Winfo(feed)) => feed.ended.clone(),
                _ => continue,
            };
            let lists = self.watcher_list(presentity, &ended);
            if let Some(w) = self.watches.get_mut(&id) {
                if let WatchKind::Winfo(feed) = &mut w.kind {
                    if !feed.queued && feed.notifier.has_changes(&lists) {
                        feed.queued = true;
                        w.sub.state_changed(now);
                    }
                }
            }
        }
    }

    /// The presence subscription `w` is gone: its winfo subscribers hear of it once, with the
    /// event that ended it; a pending one that lapsed leaves its watcher waiting instead.
    pub(super) fn watcher_left(&mut self, w: &Watch) {
        let now = instant_now();
        let now_secs = self.ctx.clock.now().as_unix_secs();
        let Some(gone) = row(w, now, now_secs) else {
            return;
        };
        if matches!(w.kind, WatchKind::Presence { lapsed: true, .. }) {
            return self.start_waiting(&w.resource, &w.watcher, gone);
        }
        let event = match gone.status {
            WatcherStatus::Terminated => gone.event,
            _ => ended_by(w, now),
        };
        self.report_ended(&w.resource, gone, event);
        let resource = w.resource.clone();
        self.winfo_changed(&resource);
    }

    /// Queues `row` as `terminated` with `event` for the next document of every winfo
    /// subscriber of `presentity` (call [`Self::winfo_changed`] after).
    pub(super) fn report_ended(
        &mut self,
        presentity: &Address,
        row: WatcherRow,
        event: WatcherEvent,
    ) {
        let gone = WatcherRow {
            status: WatcherStatus::Terminated,
            event,
            expiration: None,
            ..row
        };
        for id in self.winfo_of.get(presentity).into_iter().flatten() {
            if let Some(WatchKind::Winfo(feed)) = self.watches.peek_mut(id).map(|w| &mut w.kind) {
                feed.ended.push(gone.clone());
            }
        }
    }

    /// The document for the NOTIFY the winfo subscription `id` is sending: full the first
    /// time and after a loss, else the changes since the last one (full if there are none,
    /// so that a NOTIFY already decided on still carries a valid document).
    pub(super) fn winfo_document(&mut self, id: Key) -> Option<WatcherInfo> {
        let (resource, ended) = match self.watches.get(&id) {
            Some(Watch {
                resource,
                kind: WatchKind::Winfo(feed),
                ..
            }) => (resource.clone(), feed.ended.clone()),
            _ => return None,
        };
        let mut full = self.watcher_list(&resource, &[]);
        for l in &mut full {
            l.watchers.retain(|w| w.status != WatcherStatus::Terminated);
        }
        let with_ended = self.watcher_list(&resource, &ended);
        let Some(WatchKind::Winfo(feed)) = self.watches.peek_mut(&id).map(|w| &mut w.kind) else {
            return None;
        };
        feed.ended.clear();
        feed.queued = false;
        let doc = match feed.notifier.has_sent() {
            true => feed
                .notifier
                .notify(&with_ended)
                .unwrap_or_else(|| feed.notifier.full(&full)),
            false => feed.notifier.full(&full),
        };
        Some(doc)
    }
}
