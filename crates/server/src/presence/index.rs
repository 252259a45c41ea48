//! The subscriptions the presence task holds, indexed so that the work of one event is
//! proportional to what it touches (issue 5): a subscription given an input is marked, and
//! only marked ones are asked for their actions (RFC 6665 notifier run-loop contract of
//! `parley_sip::subscription`); their next timeouts sit in a deadline queue instead of being
//! found by scanning every subscription.

use super::watch::Watch;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// The task's own key of a subscription (its store id is a string; this is smaller and
/// cheaper to hash in the per-presentity indexes).
pub(super) type Key = u64;

/// The subscriptions, those with inputs not yet acted on, and their deadlines.
#[derive(Debug, Default)]
pub(super) struct Watches {
    /// Boxed: a `Watch` is about a kilobyte, and a table of boxes grows by 16-byte slots
    /// rather than leaving kilobyte slots empty (issue 5: memory per subscription).
    map: HashMap<Key, Box<Watch>>,
    next_key: Key,
    /// Subscriptions given an input since their actions were last taken (may repeat).
    dirty: Vec<Key>,
    /// Deadlines, earliest first. Lazily invalidated: an entry counts only while it equals the
    /// deadline its subscription was last armed with (`Watch::armed`).
    deadlines: BinaryHeap<Reverse<(Instant, Key)>>,
}

impl Watches {
    pub fn get(&self, key: &Key) -> Option<&Watch> {
        self.map.get(key).map(|w| &**w)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn reserve(&mut self, more: usize) {
        self.map.reserve(more);
        self.deadlines.reserve(more);
    }

    /// The subscription, marked for its actions to be taken: every input to its state
    /// machine goes through here.
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Watch> {
        let w = self.map.get_mut(key)?;
        self.dirty.push(*key);
        Some(&mut **w)
    }

    /// The subscription without marking it (taking its actions, reading for documents).
    pub fn peek_mut(&mut self, key: &Key) -> Option<&mut Watch> {
        self.map.get_mut(key).map(|w| &mut **w)
    }

    /// Adds a subscription (its first actions are due); its key.
    pub fn insert(&mut self, w: Watch) -> Key {
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        self.map.insert(key, Box::new(w));
        self.dirty.push(key);
        key
    }

    pub fn remove(&mut self, key: &Key) -> Option<Watch> {
        self.map.remove(key).map(|w| *w)
    }

    /// The next subscription given an input, until none is left.
    pub fn next_dirty(&mut self) -> Option<Key> {
        self.dirty.pop()
    }

    /// Puts the subscription's next timeout into the queue (after its actions were taken).
    pub fn rearm(&mut self, key: Key) {
        let Some(w) = self.map.get_mut(&key) else {
            return;
        };
        let at = w.sub.poll_timeout();
        if at != w.armed {
            w.armed = at;
            if let Some(at) = at {
                self.deadlines.push(Reverse((at, key)));
            }
        }
    }

    /// The earliest deadline still armed.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, key))) = self.deadlines.peek().copied() {
            if self.map.get(&key).is_some_and(|w| w.armed == Some(at)) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The subscriptions whose deadline has come at `now`, disarmed (their timeouts are to be
    /// handled, which marks them, and then they are armed again).
    pub fn due(&mut self, now: Instant) -> Vec<Key> {
        let mut due = Vec::new();
        while let Some(Reverse((at, key))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if let Some(w) = self.map.get_mut(&key) {
                if w.armed == Some(at) {
                    w.armed = None;
                    due.push(key);
                }
            }
        }
        due
    }
}

/// The subscriptions by dialog (Call-ID, local tag, remote tag), for SUBSCRIBEs in a dialog.
/// Keyed by a hash of the three rather than copies of them (issue 5: memory per
/// subscription); the rare dialog whose hash is taken goes into `collisions` by value.
#[derive(Debug, Default)]
pub(super) struct DialogIndex {
    hasher: std::hash::RandomState,
    by_hash: HashMap<u64, Key>,
    collisions: HashMap<(String, String, String), Key>,
}

impl DialogIndex {
    fn hash(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one((call_id, local_tag, remote_tag))
    }

    /// The subscription of the dialog, if any.
    pub fn get(
        &self,
        watches: &Watches,
        call_id: &str,
        local_tag: &str,
        remote_tag: &str,
    ) -> Option<Key> {
        let same = |key: &Key| {
            watches.get(key).is_some_and(|w| {
                let d = w.sub.dialog();
                d.call_id == call_id && d.local_tag == local_tag && d.remote_tag == remote_tag
            })
        };
        let hash = self.hash(call_id, local_tag, remote_tag);
        if let Some(key) = self.by_hash.get(&hash).filter(|k| same(k)) {
            return Some(*key);
        }
        let owned = (
            call_id.to_owned(),
            local_tag.to_owned(),
            remote_tag.to_owned(),
        );
        self.collisions.get(&owned).copied()
    }

    /// Adds the dialog of `key` (already in `watches`).
    pub fn insert(&mut self, watches: &Watches, key: Key) {
        let Some(w) = watches.get(&key) else {
            return;
        };
        let d = w.sub.dialog();
        let hash = self.hash(&d.call_id, &d.local_tag, &d.remote_tag);
        match self.by_hash.get(&hash) {
            Some(other) if *other != key && watches.get(other).is_some() => {
                let owned = (d.call_id.clone(), d.local_tag.clone(), d.remote_tag.clone());
                self.collisions.insert(owned, key);
            }
            _ => {
                self.by_hash.insert(hash, key);
            }
        }
    }

    /// Removes the dialog of `w`, whose key was `key`.
    pub fn remove(&mut self, w: &Watch, key: Key) {
        let d = w.sub.dialog();
        let hash = self.hash(&d.call_id, &d.local_tag, &d.remote_tag);
        if self.by_hash.get(&hash) == Some(&key) {
            self.by_hash.remove(&hash);
        } else if !self.collisions.is_empty() {
            let owned = (d.call_id.clone(), d.local_tag.clone(), d.remote_tag.clone());
            self.collisions.remove(&owned);
        }
    }
}

/// Deadlines on the wall clock (unix milliseconds) of presentities: the earliest expiry of
/// their publications or bindings (RFC 3903 §4.1). One entry per presentity, replaced when it
/// changes.
#[derive(Debug)]
pub(super) struct WallDeadlines<K: Ord + Clone + std::hash::Hash> {
    at: HashMap<K, i64>,
    queue: std::collections::BTreeSet<(i64, K)>,
}

impl<K: Ord + Clone + std::hash::Hash> Default for WallDeadlines<K> {
    fn default() -> Self {
        WallDeadlines {
            at: HashMap::new(),
            queue: std::collections::BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone + std::hash::Hash> WallDeadlines<K> {
    /// Sets (or clears) the deadline of `who`.
    pub fn set(&mut self, who: &K, at: Option<i64>) {
        let old = self.at.get(who).copied();
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.queue.remove(&(old, who.clone()));
            self.at.remove(who);
        }
        if let Some(at) = at {
            self.queue.insert((at, who.clone()));
            self.at.insert(who.clone(), at);
        }
    }

    pub fn contains(&self, who: &K) -> bool {
        self.at.contains_key(who)
    }

    pub fn next(&self) -> Option<i64> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Those whose deadline has come at `now_ms`, cleared (set again after handling).
    pub fn due(&mut self, now_ms: i64) -> Vec<K> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.queue.first() {
            if *at > now_ms {
                break;
            }
            if let Some((_, who)) = self.queue.pop_first() {
                self.at.remove(&who);
                due.push(who);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::WallDeadlines;

    #[test]
    fn a_replaced_wall_deadline_fires_once_at_its_new_time() {
        let mut d = WallDeadlines::<String>::default();
        d.set(&"alice".to_owned(), Some(10));
        d.set(&"bob".to_owned(), Some(20));
        d.set(&"alice".to_owned(), Some(30));
        assert_eq!(d.next(), Some(20));
        assert_eq!(d.due(25), vec!["bob".to_owned()]);
        assert_eq!(d.due(29), Vec::<String>::new());
        assert_eq!(d.due(30), vec!["alice".to_owned()]);
        assert_eq!(d.next(), None);
    }
}
