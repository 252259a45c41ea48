//! [`MemoryStore`]: everything in maps behind one mutex. For tests and for `--data`-less
//! runs; nothing survives the process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::address::Address;
use crate::error::StoreError;
use crate::model::{
    Binding, BindingChange, Ha1Set, MessageId, NewOfflineMessage, OfflineMessage, Timestamp, User,
};
use crate::traits::{OfflineMessageStore, RegistrationStore, UserStore};

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
