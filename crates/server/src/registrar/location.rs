//! The bindings of the addresses of record that have any, kept in memory in front of the
//! store (the "location service" of RFC 3261 §10.2), so that routing a request to a user
//! (§16.5) needs no trip to the blocking pool.
//!
//! The registrar is the one writer of bindings: it replaces an address of record's entry
//! after each commit ([`Location::set`]), one REGISTER at a time per address of record. A
//! reader that misses reads the store and offers what it read ([`Location::fill`]); the offer
//! is dropped if any binding changed meanwhile, so a slow reader never puts back what a
//! REGISTER has just replaced. Expired bindings are filtered out at every read, as the store
//! does, and forgotten by [`Location::forget_expired`] when the store purges them.
//!
//! Only non-empty sets are kept: a lookup of someone who is not registered (anyone can send
//! a request naming any user) reads the store and leaves nothing behind.

use parley_store::{Address, Binding, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The live bindings of each registered address of record.
#[derive(Debug, Default)]
pub struct Location {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    bindings: HashMap<Address, Arc<[Binding]>>,
    /// Counts the changes made by the registrar; a fill read before a change is stale.
    generation: u64,
}

/// Where a miss stood when it went to the store; given back to [`Location::fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// What [`Location::live`] knows about an address of record.
#[derive(Debug)]
pub enum Lookup {
    /// Its live bindings (never empty).
    Bindings(Arc<[Binding]>),
    /// Not known here: read the store, then [`Location::fill`].
    Miss(Generation),
}

impl Location {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is a single map operation: the state is whole even after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live bindings of `aor` at `now`, or a miss.
    pub fn live(&self, aor: &Address, now: Timestamp) -> Lookup {
        let inner = self.lock();
        match inner.bindings.get(aor) {
            Some(all) if all.iter().all(|b| b.is_live(now)) => Lookup::Bindings(all.clone()),
            Some(all) => {
                let live: Arc<[Binding]> = all.iter().filter(|b| b.is_live(now)).cloned().collect();
                match live.is_empty() {
                    true => Lookup::Miss(Generation(inner.generation)),
                    false => Lookup::Bindings(live),
                }
            }
            None => Lookup::Miss(Generation(inner.generation)),
        }
    }

    /// Keeps what a reader read from the store after a miss at `seen`, unless the registrar
    /// changed any binding since.
    pub fn fill(&self, aor: &Address, seen: Generation, bindings: &[Binding]) {
        let mut inner = self.lock();
        if inner.generation == seen.0 && !bindings.is_empty() {
            inner
                .bindings
                .entry(aor.clone())
                .or_insert_with(|| bindings.into());
        }
    }

    /// The bindings of `aor` as just committed (all of them; none removes the entry).
    pub fn set(&self, aor: &Address, bindings: &[Binding]) {
        let mut inner = self.lock();
        inner.generation += 1;
        if bindings.is_empty() {
            inner.bindings.remove(aor);
        } else {
            inner.bindings.insert(aor.clone(), bindings.into());
        }
    }

    /// Drops the bindings expired at `now` (the store has purged them).
    pub fn forget_expired(&self, now: Timestamp) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner
            .bindings
            .retain(|_, all| all.iter().any(|b| b.is_live(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(aor: &Address, contact: &str, expires_at: u64) -> Binding {
        Binding {
            aor: aor.clone(),
            contact: contact.to_owned(),
            q: None,
            expires_at: Timestamp::from_unix_millis(expires_at),
            call_id: "c".to_owned(),
            cseq: 1,
            instance_id: None,
            reg_id: None,
            path: Vec::new(),
            source: None,
            user_agent: None,
        }
    }

    fn contacts(lookup: Lookup) -> Vec<String> {
        match lookup {
            Lookup::Bindings(b) => b.iter().map(|b| b.contact.clone()).collect(),
            Lookup::Miss(_) => Vec::new(),
        }
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn a_registration_is_found_until_it_expires() {
        let location = Location::default();
        let alice = Address::parse("alice@example.com").unwrap();
        location.set(
            &alice,
            &[
                binding(&alice, "sip:a@192.0.2.1", 1000),
                binding(&alice, "sip:a@192.0.2.2", 2000),
            ],
        );
        assert_eq!(contacts(location.live(&alice, at(500))).len(), 2);
        assert_eq!(
            contacts(location.live(&alice, at(1500))),
            vec!["sip:a@192.0.2.2"]
        );
        assert!(matches!(location.live(&alice, at(2000)), Lookup::Miss(_)));
        location.forget_expired(at(1500));
        assert_eq!(contacts(location.live(&alice, at(1500))).len(), 1);
        location.forget_expired(at(2500));
        assert!(matches!(location.live(&alice, at(0)), Lookup::Miss(_)));
    }

    #[test]
    fn a_fill_read_before_a_registration_changed_is_dropped() {
        let location = Location::default();
        let bob = Address::parse("bob@example.com").unwrap();
        let Lookup::Miss(seen) = location.live(&bob, at(0)) else {
            panic!("nothing is known yet")
        };
        // The REGISTER removing Bob's bindings commits while the reader reads the old ones.
        location.set(&bob, &[]);
        location.fill(&bob, seen, &[binding(&bob, "sip:b@192.0.2.9", 1000)]);
        assert!(matches!(location.live(&bob, at(0)), Lookup::Miss(_)));
        // A fill with nothing in between is kept.
        let Lookup::Miss(seen) = location.live(&bob, at(0)) else {
            panic!("still nothing")
        };
        location.fill(&bob, seen, &[binding(&bob, "sip:b@192.0.2.9", 1000)]);
        assert_eq!(
            contacts(location.live(&bob, at(0))),
            vec!["sip:b@192.0.2.9"]
        );
    }

    #[test]
    fn removing_every_binding_forgets_the_address() {
        let location = Location::default();
        let carol = Address::parse("carol@example.com").unwrap();
        location.set(&carol, &[binding(&carol, "sip:c@192.0.2.3", 1000)]);
        location.set(&carol, &[]);
        assert!(matches!(location.live(&carol, at(0)), Lookup::Miss(_)));
    }
}
