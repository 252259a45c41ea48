//! The live flows of registered contacts (RFC 5626 §6, RFC 3261 §18.2.2): which open
//! connection reaches the user agent behind a contact URI, for the requests the server
//! itself sends to that URI (a NOTIFY in a subscription dialog, say).
//!
//! A user agent that follows RFC 5626 (pjsua2 over TCP, for one) puts in its Contact the
//! port of its own outgoing connection with `;ob`: nothing listens there, and the only way
//! to reach it is a connection it opened. When that connection dies (the server restarted,
//! a NAT binding expired), the user agent registers again over a new one (§4.5), with a
//! new contact URI (the new connection's port) and the same REGISTER Call-ID (RFC 3261
//! §10.2: one per boot cycle). pjsua2 2.15 also removes the old contact in that REGISTER,
//! and drops `+sip.instance`/`reg-id` from the new one when the registrar did not answer
//! `Require: outbound`. So a user agent is known by its address of record and REGISTER
//! Call-ID; each contact URI it has had maps to it (its former ones read from the bindings
//! the registrar had when the new REGISTER arrived, stored ones included, so this survives
//! a restart), and it maps to the connection its last REGISTER came over. A URI whose user
//! agent has no open connection may still be reached through another registration of the
//! same `+sip.instance` (a user agent that rebooted keeps its instance, not its Call-ID).
//!
//! Held in memory only: connections do not outlive the process. Connection ids are never
//! reused within a process, and a flow counts only while the transaction user has not
//! been told its connection closed.

use crate::proxy::Flow;
use parley_sip::{ConnectionId, Peer, Transport, Uri};
use parley_store::{Address, Binding, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Former contact URIs remembered per registration (each REGISTER over a new connection
/// may bring a new one; the oldest are forgotten first).
const FORMER_CONTACTS: usize = 16;

/// One user agent's registrations of an address of record: the bindings of one REGISTER
/// Call-ID, which a user agent keeps for all its REGISTERs until it reboots (RFC 3261
/// §10.2, and the ordering of §10.3 step 7).
#[derive(Debug)]
struct Registration {
    /// The connection its last REGISTER came over, if that was a connection.
    flow: Option<Flow>,
    /// When its last binding expires.
    expires_at: Timestamp,
    /// The contact URI keys that name it, current and former.
    contacts: VecDeque<String>,
    /// The `+sip.instance` values of its bindings (RFC 5626 §4.1).
    instances: Vec<String>,
}

#[derive(Debug, Default)]
struct Table {
    /// Connections requests have arrived on and that have not closed, with their peer.
    live: HashMap<ConnectionId, SocketAddr>,
    /// Contact URI key → the registration it names (address of record, Call-ID).
    contacts: HashMap<String, (Address, String)>,
    /// By address of record, then Call-ID.
    registrations: HashMap<Address, HashMap<String, Registration>>,
}

/// The flows of the registered contacts; shared by the tasks through the server context.
#[derive(Debug)]
pub struct Flows {
    table: Mutex<Table>,
    /// Bumped whenever a registration changes, for [`Flows::wait_for`].
    changed: watch::Sender<u64>,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            table: Mutex::new(Table::default()),
            changed: watch::Sender::new(0),
        }
    }
}

/// The key under which contact URIs are compared: the parts RFC 3261 §19.1.4 always
/// compares (scheme, user, host, port, transport, maddr), so that `;ob` or a parameter's
/// order does not keep a NOTIFY's Request-URI from matching the registered contact.
pub fn contact_key(uri: &Uri) -> Option<String> {
    let sip = uri.as_sip()?;
    let host = sip.host.to_string().to_ascii_lowercase();
    let maddr = sip
        .param("maddr")
        .flatten()
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Some(format!(
        "{}:{}@{}:{};{};{}",
        if sip.secure { "sips" } else { "sip" },
        sip.user_unescaped().unwrap_or_default(),
        host,
        sip.port.map_or(String::new(), |p| p.to_string()),
        sip.transport().unwrap_or_default(),
        maddr,
    ))
}

fn key_of(contact: &str) -> Option<String> {
    contact_key(&Uri::parse(contact).ok()?)
}

impl Flows {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table as consistent as any update.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request arrived on connection `id` from `remote`.
    pub fn connection_seen(&self, id: ConnectionId, remote: SocketAddr) {
        self.table().live.insert(id, remote);
    }

    /// Connection `id` has closed: flows on it no longer count.
    pub fn connection_closed(&self, id: ConnectionId) {
        self.table().live.remove(&id);
    }

    /// Whether connection `id` is open (a request arrived on it and it has not closed).
    pub fn is_live(&self, id: ConnectionId) -> bool {
        self.table().live.contains_key(&id)
    }

    /// A REGISTER from `peer` for `aor` succeeded: `before` are the bindings it found,
    /// `after` those it left. The user agent of the bindings it made or refreshed (their
    /// Call-ID) is now reached over `peer`'s connection, if it came over one; the contact
    /// URIs of `before` still name their user agent while it has bindings in `after` (a
    /// user agent that moved to a new contact URI, removing the old one or not); user
    /// agents gone from `after` are forgotten.
    pub fn registered(&self, aor: &Address, peer: &Peer, before: &[Binding], after: &[Binding]) {
        let flow = peer.connection.filter(|_| peer.transport.is_reliable());
        let mut table = self.table();
        let Table {
            contacts,
            registrations,
            ..
        } = &mut *table;
        let mut previous = registrations.remove(aor).unwrap_or_default();
        let mut current: HashMap<String, Registration> = HashMap::new();
        for b in after {
            let id = &b.call_id;
            let from_peer = b.source.as_ref().is_some_and(|s| {
                s.connection_id == peer.connection.map(|c| c.0) && s.address == peer.remote
            });
            let entry = current.entry(id.clone()).or_insert_with(|| {
                let old = previous.remove(id);
                Registration {
                    flow: old.as_ref().and_then(|r| r.flow),
                    expires_at: b.expires_at,
                    contacts: old.map(|r| r.contacts).unwrap_or_default(),
                    instances: Vec::new(),
                }
            });
            entry.expires_at = entry.expires_at.max(b.expires_at);
            if let Some(instance) = &b.instance_id {
                if !entry.instances.contains(instance) {
                    entry.instances.push(instance.clone());
                }
            }
            if let (true, Some(connection)) = (from_peer, flow) {
                entry.flow = Some(Flow {
                    connection,
                    remote: peer.remote,
                    transport: peer.transport,
                });
            }
        }
        // Every contact URI, current or former, names its registration.
        for b in after.iter().chain(before) {
            let (id, Some(key)) = (&b.call_id, key_of(&b.contact)) else {
                continue;
            };
            let Some(entry) = current.get_mut(id) else {
                continue;
            };
            if !entry.contacts.contains(&key) {
                entry.contacts.push_back(key.clone());
                if entry.contacts.len() > FORMER_CONTACTS {
                    if let Some(oldest) = entry.contacts.pop_front() {
                        forget_contact(contacts, &oldest, aor, id);
                    }
                }
            }
            contacts.insert(key, (aor.clone(), id.clone()));
        }
        for (id, gone) in previous {
            for key in &gone.contacts {
                forget_contact(contacts, key, aor, &id);
            }
        }
        if !current.is_empty() {
            registrations.insert(aor.clone(), current);
        }
        drop(table);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Forgets the registrations whose bindings have all expired at `now`.
    pub fn purge(&self, now: Timestamp) {
        let mut table = self.table();
        let Table {
            contacts,
            registrations,
            ..
        } = &mut *table;
        registrations.retain(|aor, regs| {
            regs.retain(|id, r| {
                let live = r.expires_at > now;
                if !live {
                    for key in &r.contacts {
                        forget_contact(contacts, key, aor, id);
                    }
                }
                live
            });
            !regs.is_empty()
        });
    }

    /// The open connection that reaches the user agent behind `uri` at `now`: the flow of
    /// the registration `uri` names (RFC 5626 §6), else one of another registration of the
    /// same `+sip.instance` (§5.3.2: "some valid flow to the appropriate UA instance").
    pub fn flow_for(&self, uri: &Uri, now: Timestamp) -> Option<(ConnectionId, Transport)> {
        let key = contact_key(uri)?;
        let table = self.table();
        let (aor, id) = table.contacts.get(&key)?;
        let regs = table.registrations.get(aor)?;
        let usable = |r: &Registration| {
            r.flow
                .filter(|f| r.expires_at > now && table.live.get(&f.connection) == Some(&f.remote))
        };
        let named = regs.get(id)?;
        let flow = usable(named).or_else(|| {
            regs.values()
                .filter(|r| r.instances.iter().any(|i| named.instances.contains(i)))
                .find_map(usable)
        })?;
        Some((flow.connection, flow.transport))
    }

    /// [`Flows::flow_for`], waiting up to `limit` for one to appear (the user agent
    /// registering again over a new connection); `now` gives the wall-clock time.
    pub async fn wait_for(
        &self,
        uri: &Uri,
        limit: Duration,
        now: impl Fn() -> Timestamp,
    ) -> Option<(ConnectionId, Transport)> {
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(found) = self.flow_for(uri, now()) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }
}

fn forget_contact(
    contacts: &mut HashMap<String, (Address, String)>,
    key: &str,
    aor: &Address,
    id: &str,
) {
    if contacts.get(key).is_some_and(|(a, i)| a == aor && i == id) {
        contacts.remove(key);
    }
}

#[cfg(test)]
#[path = "flows_tests.rs"]
mod tests;
