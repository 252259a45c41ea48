//! A simulated network between sans-IO endpoints, addressed by `SocketAddr`: datagrams are
//! lost with a configurable probability, everything is delayed, and every message sent is
//! logged with its virtual send time so that tests can assert retransmission schedules.
//!
//! Stream transports (TCP, TLS, WS, WSS) are modelled as connections: the first message to an
//! address opens one (both ends see the same [`ConnectionId`]); they never lose or reorder.

use crate::rng::SplitMix64;
use bytes::Bytes;
use parley_sip::{ConnectionId, Destination, Peer, Transmit, Transport};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A message arriving at `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub to: SocketAddr,
    /// How the receiving endpoint sees the sender.
    pub from: Peer,
    pub data: Bytes,
}

/// One message handed to the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Virtual time it was sent.
    pub at: Instant,
    pub from: SocketAddr,
    /// Where it was going; `None` for a connection that did not exist (and no fallback).
    pub to: Option<SocketAddr>,
    pub transport: Transport,
    pub data: Bytes,
    /// Whether the network dropped it.
    pub lost: bool,
}

impl Sent {
    /// The start line (the request line or status line), for assertions.
    pub fn start_line(&self) -> &str {
        let end = self
            .data
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(self.data.len());
        std::str::from_utf8(&self.data[..end]).unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy)]
struct Connection {
    a: SocketAddr,
    b: SocketAddr,
    transport: Transport,
}

/// The simulated network. Build with [`SimNetwork::new`] and the `with_*` setters.
#[derive(Debug, Clone)]
pub struct SimNetwork {
    rng: SplitMix64,
    loss: f64,
    delay: Duration,
    jitter: Duration,
    /// In flight, by arrival time then send order.
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    connections: HashMap<ConnectionId, Connection>,
    next_connection: u64,
    by_ends: HashMap<(Transport, SocketAddr, SocketAddr), ConnectionId>,
    log: Vec<Sent>,
}

impl SimNetwork {
    /// A perfect network (no loss, no delay) whose randomness comes from `seed`.
    pub fn new(seed: u64) -> SimNetwork {
        SimNetwork {
            rng: SplitMix64::new(seed),
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            queue: BTreeMap::new(),
            seq: 0,
            connections: HashMap::new(),
            next_connection: 1,
            by_ends: HashMap::new(),
            log: Vec::new(),
        }
    }

    /// Datagrams are lost with probability `p` (streams never are).
    pub fn with_loss(mut self, p: f64) -> SimNetwork {
        self.loss = p;
        self
    }

    /// Every message takes `d` to arrive.
    pub fn with_delay(mut self, d: Duration) -> SimNetwork {
        self.delay = d;
        self
    }

    /// Datagrams take up to `j` more, uniformly (so they may be reordered).
    pub fn with_jitter(mut self, j: Duration) -> SimNetwork {
        self.jitter = j;
        self
    }

    /// Changes the loss probability from now on.
    pub fn set_loss(&mut self, p: f64) {
        self.loss = p;
    }

    /// Hands the network a message sent by the endpoint at `from`.
    pub fn send(&mut self, now: Instant, from: SocketAddr, transmit: Transmit) {
        let route = self
            .route(from, transmit.destination)
            .or_else(|| self.route(from, transmit.fallback?));
        let Some((to, transport, connection)) = route else {
            self.log.push(Sent {
                at: now,
                from,
                to: None,
                transport: Transport::Tcp,
                data: transmit.data,
                lost: true,
            });
            return;
        };
        let lost = !transport.is_reliable() && self.rng.chance(self.loss);
        self.log.push(Sent {
            at: now,
            from,
            to: Some(to),
            transport,
            data: transmit.data.clone(),
            lost,
        });
        if lost {
            return;
        }
        let mut arrival = now + self.delay;
        if !transport.is_reliable() && !self.jitter.is_zero() {
            arrival += self.jitter.mul_f64(self.rng.next_f64());
        }
        self.seq += 1;
        self.queue.insert(
            (arrival, self.seq),
            Delivery {
                to,
                from: Peer {
                    transport,
                    remote: from,
                    local: to,
                    connection,
                },
                data: transmit.data,
            },
        );
    }

    /// Resolves a destination to (receiver, transport, connection), opening a connection for
    /// a stream address.
    fn route(
        &mut self,
        from: SocketAddr,
        destination: Destination,
    ) -> Option<(SocketAddr, Transport, Option<ConnectionId>)> {
        match destination {
            Destination::Address { transport, addr } if !transport.is_reliable() => {
                Some((addr, transport, None))
            }
            Destination::Address { transport, addr } => {
                let id = match self.by_ends.get(&(transport, from, addr)) {
                    Some(&id) => id,
                    None => {
                        let id = ConnectionId(self.next_connection);
                        self.next_connection += 1;
                        let conn = Connection {
                            a: from,
                            b: addr,
                            transport,
                        };
                        self.connections.insert(id, conn);
                        self.by_ends.insert((transport, from, addr), id);
                        self.by_ends.insert((transport, addr, from), id);
                        id
                    }
                };
                Some((addr, transport, Some(id)))
            }
            Destination::Connection(id) => {
                let c = self.connections.get(&id)?;
                let to = if c.a == from { c.b } else { c.a };
                Some((to, c.transport, Some(id)))
            }
        }
    }

    /// Drops a connection (both ends); later sends on it use their fallback, if any.
    pub fn close(&mut self, id: ConnectionId) {
        if let Some(c) = self.connections.remove(&id) {
            self.by_ends.remove(&(c.transport, c.a, c.b));
            self.by_ends.remove(&(c.transport, c.b, c.a));
        }
    }

    /// When the next message arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// The next message that has arrived by `now`.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery> {
        let (&(at, seq), _) = self.queue.iter().next()?;
        if at > now {
            return None;
        }
        self.queue.remove(&(at, seq))
    }

    /// Every message sent so far, in order.
    pub fn log(&self) -> &[Sent] {
        &self.log
    }

    /// The messages sent by `from` whose start line begins with `prefix` (e.g. `"MESSAGE "`
    /// or `"SIP/2.0 200"`).
    pub fn sent_by<'a>(
        &'a self,
        from: SocketAddr,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Sent> + 'a {
        self.log
            .iter()
            .filter(move |s| s.from == from && s.start_line().starts_with(prefix))
    }
}
