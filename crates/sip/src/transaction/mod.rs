//! The transaction layer of RFC 3261 §17: client and server state machines, the keys that match
//! messages to them, their timers, and the table that holds them all.
//!
//! The [`crate::Endpoint`] owns one table. Each transaction keeps a fixed [`TimerTable`]; the
//! table keeps every live transaction's earliest deadline in an ordered set, so the endpoint's
//! next wake-up is the set's first element and a timeout visits only the transactions that are
//! due. A transaction that reaches "Terminated" is destroyed at once (§17.1.1.2, §17.2.1).

pub(crate) mod client;
pub(crate) mod key;
pub(crate) mod server;
pub mod timer;

pub use client::{InviteClientState, NonInviteClientState};
pub use server::{InviteServerState, NonInviteServerState, TRYING_DELAY};
pub use timer::{Timer, TimerTable};

use crate::endpoint::{Event, TransactionId};
use crate::header::Via;
use crate::message::Message;
use crate::response::{response_target, ResponseTarget};
use crate::transport::{Destination, Peer, Transmit, Transport};
use crate::uri::Host;
use bytes::Bytes;
use client::ClientTransaction;
use key::{ClientKey, ServerKey};
use server::ServerTransaction;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Where a transaction stands, as named in RFC 3261 §17 (see each state type for its
/// diagram). A transaction is destroyed the moment it enters "Terminated", so
/// [`crate::Endpoint::transaction_state`] reports `None` rather than a terminated state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    InviteClient(InviteClientState),
    NonInviteClient(NonInviteClientState),
    InviteServer(InviteServerState),
    NonInviteServer(NonInviteServerState),
}

/// Whether a transaction lives on after handling an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Live,
    Terminated,
}

/// What the transaction layer produces: messages for the transport and events for the TU.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<Event>,
}

impl Output {
    pub fn send(&mut self, destination: Destination, fallback: Option<Destination>, data: Bytes) {
        self.transmits.push_back(Transmit {
            destination,
            fallback,
            data,
        });
    }
}

#[derive(Debug)]
pub(crate) enum Transaction {
    Client(ClientTransaction),
    Server(ServerTransaction),
}

impl Transaction {
    fn next_deadline(&self) -> Option<Instant> {
        match self {
            Transaction::Client(c) => c.next_deadline(),
            Transaction::Server(s) => s.next_deadline(),
        }
    }

    pub fn state(&self) -> TransactionState {
        match self {
            Transaction::Client(c) => c.state(),
            Transaction::Server(s) => s.state(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    tx: Transaction,
    /// The deadline this transaction is filed under in [`TransactionTable::deadlines`].
    scheduled: Option<Instant>,
    /// The deadline it is filed under in [`TransactionTable::absorbing`], while it only
    /// absorbs retransmissions.
    absorbing: Option<Instant>,
}

/// Hashes numbers this process assigns itself ([`TransactionId`]s, the services' own
/// counters). They are sequential and never chosen by a peer, so SipHash's protection against
/// chosen keys buys nothing; a multiply spreads them over a table's buckets. Never use it for
/// keys the network chooses (branches, Call-IDs, tags): those keep the standard library's
/// keyed SipHash.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing; the high bits (which hashbrown also uses) mix every input bit.
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Builds [`IdHasher`]s, for `HashMap::with_hasher`.
pub type IdBuildHasher = std::hash::BuildHasherDefault<IdHasher>;

/// How many transactions the indexes are sized for up front: enough for a few seconds of a
/// busy server, so the first burst does not regrow (and re-copy) them step by step.
const INITIAL_CAPACITY: usize = 16_384;

/// Every live transaction, the indexes that match messages to them, and their deadlines.
#[derive(Debug)]
pub(crate) struct TransactionTable {
    /// Boxed: a transaction is several hundred bytes, and a table of 100,000 of them inline
    /// would move tens of megabytes (into freshly faulted pages) each time it grows.
    entries: HashMap<TransactionId, Box<Entry>, IdBuildHasher>,
    server_index: HashMap<ServerKey, TransactionId>,
    client_index: HashMap<ClientKey, TransactionId>,
    /// `(earliest deadline, transaction)` for every transaction with a running timer.
    deadlines: BTreeSet<(Instant, TransactionId)>,
    /// The same for the transactions that only absorb retransmissions ([`only_absorbs`]):
    /// the ones [`TransactionTable::make_room`] may drop, earliest first.
    absorbing: BTreeSet<(Instant, TransactionId)>,
}

impl TransactionTable {
    /// An empty table for at most `max` transactions.
    pub fn new(max: usize) -> TransactionTable {
        let capacity = max.min(INITIAL_CAPACITY);
        TransactionTable {
            entries: HashMap::with_capacity_and_hasher(capacity, IdBuildHasher::default()),
            server_index: HashMap::with_capacity(capacity),
            client_index: HashMap::new(),
            deadlines: BTreeSet::new(),
            absorbing: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, id: TransactionId) -> Option<&Transaction> {
        self.entries.get(&id).map(|e| &e.tx)
    }

    pub fn get_mut(&mut self, id: TransactionId) -> Option<&mut Transaction> {
        self.entries.get_mut(&id).map(|e| &mut e.tx)
    }

    pub fn find_client(&self, key: &ClientKey) -> Option<TransactionId> {
        self.client_index.get(key).copied()
    }

    pub fn find_server(&self, key: &ServerKey) -> Option<TransactionId> {
        self.server_index.get(key).copied()
    }

    /// Files a new transaction under its keys and schedules its timers.
    pub fn insert(&mut self, id: TransactionId, tx: Transaction) {
        match &tx {
            Transaction::Client(c) => {
                self.client_index.insert(c.key.clone(), id);
            }
            Transaction::Server(s) => {
                for k in s.keys() {
                    self.server_index.insert(k.clone(), id);
                }
            }
        }
        self.entries.insert(
            id,
            Box::new(Entry {
                tx,
                scheduled: None,
                absorbing: None,
            }),
        );
        self.settle(id, Status::Live);
    }

    /// Files a server transaction under one more key (the ACK key of an RFC 2543 INVITE).
    pub fn add_server_key(&mut self, id: TransactionId, key: ServerKey) {
        if let Some(Transaction::Server(s)) = self.entries.get_mut(&id).map(|e| &mut e.tx) {
            s.add_key(key.clone());
            self.server_index.insert(key, id);
        }
    }

    /// After a transaction handled an input: destroys it if it terminated, otherwise files it
    /// under its (possibly new) earliest deadline.
    pub fn settle(&mut self, id: TransactionId, status: Status) {
        if status == Status::Terminated {
            self.remove(id);
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let next = entry.tx.next_deadline();
        if next != entry.scheduled {
            if let Some(old) = entry.scheduled {
                self.deadlines.remove(&(old, id));
            }
            if let Some(new) = next {
                self.deadlines.insert((new, id));
            }
            entry.scheduled = next;
        }
        let absorbing = next.filter(|_| only_absorbs(&entry.tx));
        if absorbing != entry.absorbing {
            if let Some(old) = entry.absorbing {
                self.absorbing.remove(&(old, id));
            }
            if let Some(new) = absorbing {
                self.absorbing.insert((new, id));
            }
            entry.absorbing = absorbing;
        }
    }

    fn remove(&mut self, id: TransactionId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        if let Some(at) = entry.scheduled {
            self.deadlines.remove(&(at, id));
        }
        if let Some(at) = entry.absorbing {
            self.absorbing.remove(&(at, id));
        }
        match &entry.tx {
            Transaction::Client(c) => {
                if self.client_index.get(&c.key) == Some(&id) {
                    self.client_index.remove(&c.key);
                }
            }
            Transaction::Server(s) => {
                for k in s.keys() {
                    if self.server_index.get(k) == Some(&id) {
                        self.server_index.remove(k);
                    }
                }
            }
        }
    }

    /// Makes room for one more transaction under `max` if that is possible without losing
    /// anything but retransmission absorption: the transactions that only wait out Timer J,
    /// I, K or D (§17.1.2.2, §17.2.1, §17.2.2; a request or response repeated after that is
    /// handled as new, exactly as once the timer has fired) go first, earliest deadline
    /// first. At a sustained 20,000 requests/s over UDP, Timer J alone keeps 640,000
    /// finished transactions; without this they would refuse new requests with 503.
    /// Whether there is room now.
    pub fn make_room(&mut self, max: usize) -> bool {
        // Only the absorbing ones are candidates, kept in their own set: a busy proxy's
        // earliest deadlines are its live client transactions' Timer E, and a look at the
        // first few deadlines found none to drop (5 % of a MESSAGE run refused with 503).
        while self.entries.len() >= max {
            match self.absorbing.first() {
                Some(&(_, id)) => self.remove(id),
                None => return false,
            }
        }
        true
    }

    /// The earliest deadline of any transaction.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// Takes every transaction due at `now` off the deadline set (the caller runs its timers
    /// and then [`TransactionTable::settle`]s it).
    pub fn take_due(&mut self, now: Instant) -> Vec<TransactionId> {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, id));
            if let Some(e) = self.entries.get_mut(&id) {
                e.scheduled = None;
            }
            due.push(id);
        }
        due
    }
}

/// Whether a transaction has answered (or been answered) and only absorbs retransmissions.
fn only_absorbs(tx: &Transaction) -> bool {
    matches!(
        tx.state(),
        TransactionState::NonInviteServer(NonInviteServerState::Completed)
            | TransactionState::InviteServer(InviteServerState::Confirmed)
            | TransactionState::NonInviteClient(NonInviteClientState::Completed)
            | TransactionState::InviteClient(InviteClientState::Completed)
    )
}

/// Where the responses to a request go: on the request's connection for streams (falling back
/// to its source), per the top Via with `received`/`rport` for UDP (RFC 3261 §18.2.2,
/// RFC 3581 §4). `message` is the request as stamped on arrival, or a response to it (both
/// carry the same top Via).
pub(crate) fn response_destination(
    message: &Message,
    from: &Peer,
) -> (Destination, Option<Destination>) {
    if let Some(conn) = from.connection {
        return (
            Destination::Connection(conn),
            Some(Destination::Address {
                transport: from.transport,
                addr: from.remote,
            }),
        );
    }
    // A Via we cannot parse still gets its answer back to the source (RFC 3581 behaviour).
    let target = message.top_via().map(|v| response_target(&v));
    datagram_destination(target.ok(), from)
}

/// Where the responses to a request from `from` go over UDP, given where its top Via points
/// (`None`: a Via that does not parse).
pub(crate) fn datagram_destination(
    target: Option<ResponseTarget>,
    from: &Peer,
) -> (Destination, Option<Destination>) {
    let addr = match target {
        Some(ResponseTarget::Datagram(a)) => a,
        Some(ResponseTarget::SameConnection) | Some(ResponseTarget::Resolve { .. }) | None => {
            from.remote
        }
    };
    (
        Destination::Address {
            transport: from.transport,
            addr,
        },
        None,
    )
}

/// Where a response goes when no transaction remembers where its request came from: the
/// address the top Via names (RFC 3261 §18.2.2, RFC 3581 §4). Over UDP, `received` and `rport`
/// (or the sent-by); over a stream transport, a connection to `received` (or the sent-by's
/// address) and `rport` (or the sent-by's port), which `parley-net` reuses if one is open.
/// `None` for a Via naming a host that must be resolved first, or an unknown transport.
pub(crate) fn via_destination(via: &Via<'_>) -> Option<Destination> {
    let transport = Transport::from_via_token(via.transport)?;
    if !via.is_stream() {
        return match response_target(via) {
            ResponseTarget::Datagram(addr) => Some(Destination::Address { transport, addr }),
            ResponseTarget::SameConnection | ResponseTarget::Resolve { .. } => None,
        };
    }
    let received = via.received().and_then(|r| r.parse::<IpAddr>().ok());
    let ip = match (received, &via.host) {
        (Some(ip), _) => ip,
        (None, Host::Ip(ip)) => *ip,
        (None, Host::Name(_)) => return None,
    };
    let default_port = match transport {
        Transport::Tls => 5061,
        Transport::Ws => 80,
        Transport::Wss => 443,
        Transport::Udp | Transport::Tcp => 5060,
    };
    let port = via
        .rport()
        .flatten()
        .and_then(|p| p.parse().ok())
        .or(via.port)
        .unwrap_or(default_port);
    Some(Destination::Address {
        transport,
        addr: SocketAddr::new(ip, port),
    })
}
