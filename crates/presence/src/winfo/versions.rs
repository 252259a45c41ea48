//! Document versions of one winfo subscription (RFC 3858 §4): the notifier side numbers the
//! documents and sends full state first, then only changes; the subscriber side merges them.

use std::collections::BTreeMap;

use super::{DocState, Watcher, WatcherEvent, WatcherInfo, WatcherList, WatcherStatus};

/// Watcher lists by resource: the package and the watchers by id.
type Tables = BTreeMap<String, (String, BTreeMap<String, Watcher>)>;

/// The notifier's state for one `presence.winfo` subscription: the next version and what the
/// subscriber was last told.
///
/// Call [`notify`](Self::notify) with the current watcher lists whenever they may have changed;
/// it returns the document to send (full the first time, partial after), or `None` when nothing
/// the subscriber cares about changed. [`full`](Self::full) forces a full document (e.g. on a
/// refresh SUBSCRIBE). A watcher that disappears from the lists without having been reported
/// `terminated` is reported once as `terminated` with event `timeout`; callers that know the
/// real reason (rejected, giveup, …) report it themselves before dropping the watcher.
#[derive(Debug, Clone, Default)]
pub struct WinfoNotifier {
    next_version: u32,
    /// resource → package and (watcher id → what was last sent).
    sent: Option<Tables>,
}

/// Fields whose change is worth a NOTIFY; `expiration` and `duration-subscribed` move with the
/// clock and are refreshed only by the next document that is sent anyway.
fn same_state(a: &Watcher, b: &Watcher) -> bool {
    (a.status, a.event, &a.uri, &a.display_name) == (b.status, b.event, &b.uri, &b.display_name)
}

impl WinfoNotifier {
    /// A subscription that has not been notified yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A subscription that was notified before (restored after a restart, RFC 3858 §4): its
    /// documents continue at `next_version`, and the first one is full, as what the subscriber
    /// was told is not known any more.
    pub fn resume(next_version: u32) -> Self {
        Self {
            next_version,
            sent: None,
        }
    }

    /// The version the next document will carry.
    pub fn next_version(&self) -> u32 {
        self.next_version
    }

    /// Whether a document has been sent since the last [`forget_sent`](Self::forget_sent)
    /// (the next one is partial).
    pub fn has_sent(&self) -> bool {
        self.sent.is_some()
    }

    /// The last document may not have reached the subscriber: the next one is full, so that no
    /// change is lost with it (RFC 3858 §4).
    pub fn forget_sent(&mut self) {
        self.sent = None;
    }

    /// Whether [`notify`](Self::notify) with `current` would return a document (without
    /// numbering one).
    pub fn has_changes(&self, current: &[WatcherList]) -> bool {
        self.clone().notify(current).is_some()
    }

    fn stamp(&mut self, state: DocState, lists: Vec<WatcherList>) -> WatcherInfo {
        let version = self.next_version;
        self.next_version = self.next_version.saturating_add(1);
        WatcherInfo {
            version,
            state,
            lists,
            extensions: Vec::new(),
        }
    }

    fn remember(&mut self, current: &[WatcherList]) {
        let mut sent = BTreeMap::new();
        for l in current {
            let rows = l
                .watchers
                .iter()
                .filter(|w| w.status != WatcherStatus::Terminated)
                .map(|w| (w.id.clone(), w.clone()))
                .collect();
            sent.insert(l.resource.clone(), (l.package.clone(), rows));
        }
        self.sent = Some(sent);
    }

    /// A full-state document of `current`.
    pub fn full(&mut self, current: &[WatcherList]) -> WatcherInfo {
        self.remember(current);
        self.stamp(DocState::Full, current.to_vec())
    }

    /// The next document for `current`: full if none was sent, else the changes, or `None`.
    pub fn notify(&mut self, current: &[WatcherList]) -> Option<WatcherInfo> {
        let Some(sent) = &self.sent else {
            return Some(self.full(current));
        };
        let mut changed: Vec<WatcherList> = Vec::new();
        let empty = BTreeMap::new();
        for l in current {
            let before = sent.get(&l.resource).map_or(&empty, |(_, rows)| rows);
            let mut watchers: Vec<Watcher> = l
                .watchers
                .iter()
                .filter(|w| match before.get(&w.id) {
                    Some(old) => !same_state(old, w),
                    None => w.status != WatcherStatus::Terminated,
                })
                .cloned()
                .collect();
            for (id, old) in before {
                if l.watchers.iter().all(|w| &w.id != id) {
                    watchers.push(Watcher {
                        status: WatcherStatus::Terminated,
                        event: WatcherEvent::Timeout,
                        ..old.clone()
                    });
                }
            }
            if !watchers.is_empty() {
                changed.push(WatcherList {
                    resource: l.resource.clone(),
                    package: l.package.clone(),
                    watchers,
                });
            }
        }
        for (resource, (package, rows)) in sent {
            if current.iter().all(|l| &l.resource != resource) && !rows.is_empty() {
                let watchers = rows
                    .values()
                    .map(|old| Watcher {
                        status: WatcherStatus::Terminated,
                        event: WatcherEvent::Timeout,
                        ..old.clone()
                    })
                    .collect();
                changed.push(WatcherList {
                    resource: resource.clone(),
                    package: package.clone(),
                    watchers,
                });
            }
        }
        if changed.is_empty() {
            return None;
        }
        self.remember(current);
        Some(self.stamp(DocState::Partial, changed))
    }
}

/// What [`WatcherInfoView::apply`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Processed in order.
    Processed,
    /// Processed, but versions were skipped: refresh the subscription to get full state
    /// (RFC 3858 §4 SHOULD).
    ProcessedRefreshNeeded,
    /// Older than what was already seen: discarded.
    Discarded,
}

/// The subscriber's tables (RFC 3858 §4): one per resource, a row per watcher id.
#[derive(Debug, Clone, Default)]
pub struct WatcherInfoView {
    version: Option<u32>,
    tables: Tables,
}

impl WatcherInfoView {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges `doc` into the tables by the version rules of RFC 3858 §4. Rows that become
    /// `terminated` are removed after processing.
    pub fn apply(&mut self, doc: &WatcherInfo) -> Applied {
        let outcome = match self.version {
            None => Applied::Processed,
            // Equal versions are a repeat of what was processed: discarded too.
            Some(v) if doc.version <= v => return Applied::Discarded,
            Some(v) if doc.version == v.saturating_add(1) => Applied::Processed,
            Some(_) => Applied::ProcessedRefreshNeeded,
        };
        self.version = Some(doc.version);
        if doc.state == DocState::Full {
            self.tables.clear();
        }
        for l in &doc.lists {
            let (_, rows) = self
                .tables
                .entry(l.resource.clone())
                .or_insert_with(|| (l.package.clone(), BTreeMap::new()));
            for w in &l.watchers {
                if w.status == WatcherStatus::Terminated {
                    rows.remove(&w.id);
                } else {
                    rows.insert(w.id.clone(), w.clone());
                }
            }
        }
        outcome
    }

    /// The last version processed.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// The watchers of `resource` (not terminated), by id.
    pub fn watchers(&self, resource: &str) -> impl Iterator<Item = &Watcher> {
        self.tables
            .get(resource)
            .into_iter()
            .flat_map(|(_, rows)| rows.values())
    }
}
