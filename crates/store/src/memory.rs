//! [`MemoryStore`]: everything in maps behind one mutex. For tests and for `--data`-less
//! runs; nothing survives the process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::address::Address;
use crate::error::StoreError;
use crate::model::{
    Binding, BindingChange, Ha1Set, MessageId, NewOfflineMessage, OfflineMessage, Timestamp, User,
};
use crate::presence::{
    DialogId, NewPublication, Publication, PublicationUpdate, Subscription, SubscriptionUpdate,
    WatcherAuthorization, WatcherDecision,
};
use crate::traits::{
    AuthorizationStore, OfflineMessageStore, PublicationStore, RegistrationStore,
    SubscriptionStore, UserStore,
};

/// An in-memory [`crate::Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<Address, User>,
    /// (aor, contact) -> binding.
    bindings: BTreeMap<(Address, String), Binding>,
    messages: BTreeMap<MessageId, OfflineMessage>,
    last_message_id: u64,
    /// etag -> publication.
    publications: BTreeMap<String, Publication>,
    last_publication_seq: u64,
    /// id -> subscription.
    subscriptions: BTreeMap<String, Subscription>,
    /// dialog -> subscription id.
    dialogs: BTreeMap<DialogId, String>,
    /// (presentity, watcher) -> decision.
    authorizations: BTreeMap<(Address, Address), WatcherDecision>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it mutates, so a panic cannot leave a half-done
        // change behind: the state is usable even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn live(&self, aor: &Address, now: Timestamp) -> Vec<Binding> {
        self.bindings
            .range((aor.clone(), String::new())..)
            .take_while(|((a, _), _)| a == aor)
            .map(|(_, b)| b)
            .filter(|b| b.is_live(now))
            .cloned()
            .collect()
    }

    fn remove_all(&mut self, aor: &Address) -> usize {
        let before = self.bindings.len();
        self.bindings.retain(|(a, _), _| a != aor);
        before - self.bindings.len()
    }

    fn pending(&self, recipient: &Address) -> impl Iterator<Item = &OfflineMessage> {
        let mut v: Vec<_> = self
            .messages
            .values()
            .filter(|m| &m.recipient == recipient)
            .collect();
        v.sort_by_key(|m| (m.received_at, m.id));
        v.into_iter()
    }

    fn next_publication_seq(&mut self) -> u64 {
        self.last_publication_seq += 1;
        self.last_publication_seq
    }

    fn subscriptions_where(&self, keep: impl Fn(&Subscription) -> bool) -> Vec<Subscription> {
        let mut v: Vec<_> = self.subscriptions.values().filter(|s| keep(s)).collect();
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v.into_iter().cloned().collect()
    }

    fn subscription_mut(&mut self, id: &str) -> Result<&mut Subscription, StoreError> {
        self.subscriptions
            .get_mut(id)
            .ok_or_else(|| StoreError::SubscriptionNotFound(id.to_owned()))
    }
}

impl UserStore for MemoryStore {
    fn add_user(&self, user: &User) -> Result<(), StoreError> {
        user.ha1.validate()?;
        let mut s = self.state();
        if s.users.contains_key(&user.address) {
            return Err(StoreError::UserExists(user.address.clone()));
        }
        s.users.insert(user.address.clone(), user.clone());
        Ok(())
    }

    fn set_ha1(&self, address: &Address, ha1: &Ha1Set) -> Result<(), StoreError> {
        ha1.validate()?;
        let mut s = self.state();
        let user = s
            .users
            .get_mut(address)
            .ok_or_else(|| StoreError::UserNotFound(address.clone()))?;
        user.ha1 = ha1.clone();
        Ok(())
    }

    fn remove_user(&self, address: &Address) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.users.remove(address).is_none() {
            return Err(StoreError::UserNotFound(address.clone()));
        }
        s.remove_all(address);
        s.messages.retain(|_, m| &m.recipient != address);
        s.authorizations.retain(|(p, _), _| p != address);
        Ok(())
    }

    fn user(&self, address: &Address) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(address).cloned())
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.state().users.values().cloned().collect())
    }
}

impl RegistrationStore for MemoryStore {
    fn update_bindings(
        &self,
        aor: &Address,
        changes: &[BindingChange],
        now: Timestamp,
    ) -> Result<Vec<Binding>, StoreError> {
        for change in changes {
            if let BindingChange::Upsert(b) = change {
                crate::check_upsert(aor, b)?;
            }
        }
        let mut s = self.state();
        for change in changes {
            match change {
                BindingChange::Upsert(b) => {
                    s.bindings
                        .insert((aor.clone(), b.contact.clone()), b.clone());
                }
                BindingChange::Remove { contact } => {
                    s.bindings.remove(&(aor.clone(), contact.clone()));
                }
                BindingChange::RemoveAll => {
                    s.remove_all(aor);
                }
            }
        }
        Ok(s.live(aor, now))
    }

    fn remove_binding(&self, aor: &Address, contact: &str) -> Result<bool, StoreError> {
        let key = (aor.clone(), contact.to_owned());
        Ok(self.state().bindings.remove(&key).is_some())
    }

    fn remove_all_bindings(&self, aor: &Address) -> Result<usize, StoreError> {
        Ok(self.state().remove_all(aor))
    }

    fn live_bindings(&self, aor: &Address, now: Timestamp) -> Result<Vec<Binding>, StoreError> {
        Ok(self.state().live(aor, now))
    }

    fn purge_expired_bindings(&self, now: Timestamp) -> Result<Vec<Binding>, StoreError> {
        let mut s = self.state();
        let mut removed = Vec::new();
        s.bindings.retain(|_, b| {
            let live = b.is_live(now);
            if !live {
                removed.push(b.clone());
            }
            live
        });
        Ok(removed)
    }
}

impl OfflineMessageStore for MemoryStore {
    fn enqueue_message(
        &self,
        message: &NewOfflineMessage,
        limit: usize,
    ) -> Result<MessageId, StoreError> {
        message.validate()?;
        let mut s = self.state();
        if s.pending(&message.recipient).count() >= limit {
            return Err(StoreError::QueueFull {
                recipient: message.recipient.clone(),
                limit,
            });
        }
        s.last_message_id += 1;
        let id = MessageId(s.last_message_id);
        s.messages.insert(
            id,
            OfflineMessage {
                id,
                sender: message.sender.clone(),
                recipient: message.recipient.clone(),
                content_type: message.content_type.clone(),
                body: message.body.clone(),
                received_at: message.received_at,
                attempts: 0,
                next_attempt_at: None,
            },
        );
        Ok(id)
    }

    fn pending_messages(&self, recipient: &Address) -> Result<Vec<OfflineMessage>, StoreError> {
        Ok(self.state().pending(recipient).cloned().collect())
    }

    fn count_pending(&self, recipient: &Address) -> Result<usize, StoreError> {
        Ok(self.state().pending(recipient).count())
    }

    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OfflineMessage>, StoreError> {
        let s = self.state();
        let mut due: Vec<_> = s
            .messages
            .values()
            .filter(|m| m.next_attempt_at.is_some_and(|t| t <= now))
            .collect();
        due.sort_by_key(|m| (m.received_at, m.id));
        Ok(due.into_iter().take(limit).cloned().collect())
    }

    fn record_delivery_attempt(
        &self,
        id: MessageId,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<u32, StoreError> {
        let mut s = self.state();
        let m = s
            .messages
            .get_mut(&id)
            .ok_or(StoreError::MessageNotFound(id))?;
        m.attempts = m.attempts.saturating_add(1);
        m.next_attempt_at = next_attempt_at;
        Ok(m.attempts)
    }

    fn delete_message(&self, id: MessageId) -> Result<bool, StoreError> {
        Ok(self.state().messages.remove(&id).is_some())
    }
}

impl PublicationStore for MemoryStore {
    fn insert_publication(&self, p: &NewPublication) -> Result<Publication, StoreError> {
        p.validate()?;
        let mut s = self.state();
        if s.publications.contains_key(&p.etag) {
            return Err(StoreError::PublicationExists(p.etag.clone()));
        }
        let publication = Publication {
            presentity: p.presentity.clone(),
            etag: p.etag.clone(),
            event: p.event.clone(),
            content_type: p.content_type.clone(),
            body: p.body.clone(),
            expires_at: p.expires_at,
            modified_at: p.modified_at,
            sequence: s.next_publication_seq(),
        };
        s.publications.insert(p.etag.clone(), publication.clone());
        Ok(publication)
    }

    fn update_publication(
        &self,
        etag: &str,
        update: &PublicationUpdate,
        now: Timestamp,
    ) -> Result<Publication, StoreError> {
        update.validate()?;
        let mut s = self.state();
        let live = match s.publications.get(etag) {
            None => return Err(StoreError::PublicationNotFound(etag.to_owned())),
            Some(p) => p.is_live(now),
        };
        if !live {
            return Err(StoreError::PublicationExpired(etag.to_owned()));
        }
        if update.new_etag != etag && s.publications.contains_key(&update.new_etag) {
            return Err(StoreError::PublicationExists(update.new_etag.clone()));
        }
        let sequence = update.body.as_ref().map(|_| s.next_publication_seq());
        let Some(mut p) = s.publications.remove(etag) else {
            return Err(StoreError::PublicationNotFound(etag.to_owned()));
        };
        p.etag = update.new_etag.clone();
        p.expires_at = update.expires_at;
        if let (Some(body), Some(sequence)) = (&update.body, sequence) {
            p.content_type = body.content_type.clone();
            p.body = body.body.clone();
            p.modified_at = now;
            p.sequence = sequence;
        }
        s.publications.insert(p.etag.clone(), p.clone());
        Ok(p)
    }

    fn remove_publication(&self, etag: &str) -> Result<Option<Publication>, StoreError> {
        Ok(self.state().publications.remove(etag))
    }

    fn publication(&self, etag: &str) -> Result<Option<Publication>, StoreError> {
        Ok(self.state().publications.get(etag).cloned())
    }

    fn live_publications(
        &self,
        presentity: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Publication>, StoreError> {
        let s = self.state();
        let mut v: Vec<_> = s
            .publications
            .values()
            .filter(|p| &p.presentity == presentity && p.event == event && p.is_live(now))
            .cloned()
            .collect();
        v.sort_by_key(|p| p.sequence);
        Ok(v)
    }

    fn load_live_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError> {
        let s = self.state();
        let mut v: Vec<_> = s
            .publications
            .values()
            .filter(|p| p.is_live(now))
            .cloned()
            .collect();
        v.sort_by_key(|p| p.sequence);
        Ok(v)
    }

    fn purge_expired_publications(&self, now: Timestamp) -> Result<Vec<Publication>, StoreError> {
        let mut s = self.state();
        let mut removed = Vec::new();
        s.publications.retain(|_, p| {
            let live = p.is_live(now);
            if !live {
                removed.push(p.clone());
            }
            live
        });
        removed.sort_by_key(|p| p.sequence);
        Ok(removed)
    }
}

impl SubscriptionStore for MemoryStore {
    fn insert_subscription(
        &self,
        sub: &Subscription,
        limit: usize,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sub.validate()?;
        let mut s = self.state();
        if s.subscriptions.contains_key(&sub.id) {
            return Err(StoreError::SubscriptionExists(sub.id.clone()));
        }
        if s.dialogs.contains_key(&sub.dialog.id) {
            return Err(StoreError::DialogExists(sub.dialog.id.clone()));
        }
        let count = s
            .subscriptions
            .values()
            .filter(|x| x.watcher == sub.watcher && x.is_live(now))
            .count();
        if count >= limit {
            return Err(StoreError::SubscriptionLimit {
                watcher: sub.watcher.clone(),
                limit,
            });
        }
        s.dialogs.insert(sub.dialog.id.clone(), sub.id.clone());
        s.subscriptions.insert(sub.id.clone(), sub.clone());
        Ok(())
    }

    fn update_subscription(
        &self,
        id: &str,
        update: &SubscriptionUpdate,
    ) -> Result<Subscription, StoreError> {
        update.validate()?;
        let mut s = self.state();
        let sub = s.subscription_mut(id)?;
        update.apply(sub);
        Ok(sub.clone())
    }

    fn next_local_cseq(&self, id: &str) -> Result<u32, StoreError> {
        let mut s = self.state();
        let sub = s.subscription_mut(id)?;
        sub.dialog.local_cseq = sub.dialog.local_cseq.saturating_add(1);
        Ok(sub.dialog.local_cseq)
    }

    fn reserve_local_cseq(&self, id: &str, at_least: u32) -> Result<u32, StoreError> {
        let mut s = self.state();
        let sub = s.subscription_mut(id)?;
        sub.dialog.local_cseq = sub.dialog.local_cseq.max(at_least);
        Ok(sub.dialog.local_cseq)
    }

    fn set_winfo_version(&self, id: &str, version: u32) -> Result<(), StoreError> {
        self.state().subscription_mut(id)?.winfo_version = version;
        Ok(())
    }

    fn remove_subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let mut s = self.state();
        let removed = s.subscriptions.remove(id);
        if let Some(sub) = &removed {
            s.dialogs.remove(&sub.dialog.id);
        }
        Ok(removed)
    }

    fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        Ok(self.state().subscriptions.get(id).cloned())
    }

    fn subscription_by_dialog(
        &self,
        dialog: &DialogId,
    ) -> Result<Option<Subscription>, StoreError> {
        let s = self.state();
        Ok(s.dialogs
            .get(dialog)
            .and_then(|id| s.subscriptions.get(id))
            .cloned())
    }

    fn subscriptions_to(
        &self,
        resource: &Address,
        event: &str,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError> {
        Ok(self
            .state()
            .subscriptions_where(|x| &x.resource == resource && x.event == event && x.is_live(now)))
    }

    fn subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<Vec<Subscription>, StoreError> {
        Ok(self
            .state()
            .subscriptions_where(|x| &x.watcher == watcher && x.is_live(now)))
    }

    fn count_subscriptions_of(
        &self,
        watcher: &Address,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let s = self.state();
        Ok(s.subscriptions
            .values()
            .filter(|x| &x.watcher == watcher && x.is_live(now))
            .count())
    }

    fn load_live_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.state().subscriptions_where(|x| x.is_live(now)))
    }

    fn purge_expired_subscriptions(&self, now: Timestamp) -> Result<Vec<Subscription>, StoreError> {
        let mut s = self.state();
        let removed = s.subscriptions_where(|x| !x.is_live(now));
        for sub in &removed {
            s.subscriptions.remove(&sub.id);
            s.dialogs.remove(&sub.dialog.id);
        }
        Ok(removed)
    }
}

impl AuthorizationStore for MemoryStore {
    fn set_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
        decision: WatcherDecision,
    ) -> Result<(), StoreError> {
        let key = (presentity.clone(), watcher.clone());
        self.state().authorizations.insert(key, decision);
        Ok(())
    }

    fn authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<Option<WatcherDecision>, StoreError> {
        let key = (presentity.clone(), watcher.clone());
        Ok(self.state().authorizations.get(&key).copied())
    }

    fn list_authorizations(
        &self,
        presentity: &Address,
    ) -> Result<Vec<WatcherAuthorization>, StoreError> {
        let s = self.state();
        Ok(s.authorizations
            .iter()
            .filter(|((p, _), _)| p == presentity)
            .map(|((p, w), d)| WatcherAuthorization {
                presentity: p.clone(),
                watcher: w.clone(),
                decision: *d,
            })
            .collect())
    }

    fn remove_authorization(
        &self,
        presentity: &Address,
        watcher: &Address,
    ) -> Result<bool, StoreError> {
        let key = (presentity.clone(), watcher.clone());
        Ok(self.state().authorizations.remove(&key).is_some())
    }
}

impl crate::restore::RestoreStore for MemoryStore {
    fn load_live_subscriptions_sharded(
        &self,
        now: Timestamp,
        shards: usize,
        shard_of: crate::restore::ShardOf<'_>,
    ) -> Result<Vec<Vec<Subscription>>, StoreError> {
        let live = self.state().subscriptions_where(|x| x.is_live(now));
        Ok(crate::restore::split(live, shards, shard_of))
    }

    fn load_authorizations(&self) -> Result<Vec<WatcherAuthorization>, StoreError> {
        Ok(self
            .state()
            .authorizations
            .iter()
            .map(|((p, w), d)| WatcherAuthorization {
                presentity: p.clone(),
                watcher: w.clone(),
                decision: *d,
            })
            .collect())
    }

    fn load_binding_expiries(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(Address, Timestamp)>, StoreError> {
        let s = self.state();
        let mut out: Vec<(Address, Timestamp)> = Vec::new();
        // Keys are ordered by address of record: each one's bindings are adjacent.
        for ((aor, _), b) in s.bindings.iter().filter(|(_, b)| b.is_live(now)) {
            match out.last_mut() {
                Some((last, at)) if last == aor => *at = (*at).min(b.expires_at),
                _ => out.push((aor.clone(), b.expires_at)),
            }
        }
        Ok(out)
    }
}
