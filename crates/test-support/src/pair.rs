//! Two sans-IO endpoints joined by a [`SimNetwork`] under a [`VirtualClock`], driven the way
//! quinn-proto's test `Pair` drives two connections: do everything due now, then jump to the
//! next instant anything is due (a timer or an arrival).
//!
//! The transaction users are a closure, called for every event at the virtual instant it
//! happens, with the endpoint that raised it (so it can answer at once). Every event is also
//! recorded on its [`Node`] for assertions afterwards.

use crate::clock::VirtualClock;
use crate::network::SimNetwork;
use parley_sip::{Endpoint, EndpointConfig, Event};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Which endpoint of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

/// One endpoint, its address, and the events it raised with their virtual times.
#[derive(Debug)]
pub struct Node {
    pub addr: SocketAddr,
    pub endpoint: Endpoint,
    pub events: Vec<(Instant, Event)>,
}

impl Node {
    fn new(addr: SocketAddr, config: EndpointConfig) -> Node {
        Node {
            addr,
            endpoint: Endpoint::new(config),
            events: Vec::new(),
        }
    }
}

/// A transaction user that does nothing.
pub fn no_tu(_: Side, _: Instant, _: &mut Endpoint, _: &Event) {}

/// A client endpoint, a server endpoint and the network between them.
#[derive(Debug)]
pub struct Pair {
    pub clock: VirtualClock,
    pub net: SimNetwork,
    pub client: Node,
    pub server: Node,
}

/// Steps at one instant before [`Pair::step`] gives up (a livelock in the code under test).
const MAX_ROUNDS_PER_INSTANT: usize = 10_000;
/// Instants [`Pair::drive`] visits before it gives up (a timer that never stops).
const MAX_INSTANTS: usize = 1_000_000;

impl Pair {
    /// The client's address (TEST-NET-1, RFC 5737).
    pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 5060);
    /// The server's address.
    pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 5060);

    /// Two endpoints with `config` (the server's seed is changed so their branches and tags
    /// differ) on `net`.
    pub fn new(config: EndpointConfig, net: SimNetwork) -> Pair {
        let mut server = config.clone();
        server.seed = config.seed.wrapping_add(0x1000);
        Pair::with_configs(config, server, net)
    }

    pub fn with_configs(client: EndpointConfig, server: EndpointConfig, net: SimNetwork) -> Pair {
        Pair {
            clock: VirtualClock::new(),
            net,
            client: Node::new(Pair::CLIENT, client),
            server: Node::new(Pair::SERVER, server),
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    pub fn node(&mut self, side: Side) -> &mut Node {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Does everything due at the current instant: timers, sends, arrivals and the TU's
    /// reactions, until nothing more happens. Returns whether anything did.
    ///
    /// # Panics
    /// If work keeps appearing at the same instant (a livelock in the code under test).
    pub fn step<F>(&mut self, tu: &mut F) -> bool
    where
        F: FnMut(Side, Instant, &mut Endpoint, &Event),
    {
        let now = self.clock.now();
        let mut progressed = false;
        for _ in 0..MAX_ROUNDS_PER_INSTANT {
            let mut busy = false;
            for side in [Side::Client, Side::Server] {
                let node = match side {
                    Side::Client => &mut self.client,
                    Side::Server => &mut self.server,
                };
                if node.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                    node.endpoint.handle_timeout(now);
                    busy = true;
                }
                while let Some(t) = node.endpoint.poll_transmit() {
                    self.net.send(now, node.addr, t);
                    busy = true;
                }
                while let Some(e) = node.endpoint.poll_event() {
                    tu(side, now, &mut node.endpoint, &e);
                    node.events.push((now, e));
                    busy = true;
                }
            }
            while let Some(d) = self.net.poll_delivery(now) {
                busy = true;
                let node = if d.to == self.client.addr {
                    &mut self.client
                } else if d.to == self.server.addr {
                    &mut self.server
                } else {
                    continue;
                };
                node.endpoint.handle_message(now, d.from, d.data);
            }
            if !busy {
                return progressed;
            }
            progressed = true;
        }
        panic!("no quiescence at {:?}: livelock", self.clock.elapsed());
    }

    /// The next instant a timer fires or a message arrives.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.net.next_delivery(),
            self.client.endpoint.poll_timeout(),
            self.server.endpoint.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Steps and advances virtual time until `until` (inclusive); the clock ends at `until`.
    pub fn drive_until<F>(&mut self, until: Instant, tu: &mut F)
    where
        F: FnMut(Side, Instant, &mut Endpoint, &Event),
    {
        for _ in 0..MAX_INSTANTS {
            self.step(tu);
            match self.next_wakeup() {
                Some(t) if t <= until => {
                    assert!(t > self.clock.now(), "a wake-up in the past after a step");
                    self.clock.advance_to(t);
                }
                _ => {
                    self.clock.advance_to(until);
                    self.step(tu);
                    return;
                }
            }
        }
        panic!("drive_until: more than {MAX_INSTANTS} wake-ups");
    }

    /// [`Pair::drive_until`] `d` from now.
    pub fn drive_for<F>(&mut self, d: Duration, tu: &mut F)
    where
        F: FnMut(Side, Instant, &mut Endpoint, &Event),
    {
        let until = self.clock.now() + d;
        self.drive_until(until, tu);
    }

    /// Steps and advances virtual time until nothing is left to do: no timer, nothing in
    /// flight.
    ///
    /// # Panics
    /// If that never happens (after a million wake-ups).
    pub fn drive<F>(&mut self, tu: &mut F)
    where
        F: FnMut(Side, Instant, &mut Endpoint, &Event),
    {
        for _ in 0..MAX_INSTANTS {
            self.step(tu);
            match self.next_wakeup() {
                Some(t) => {
                    assert!(t > self.clock.now(), "a wake-up in the past after a step");
                    self.clock.advance_to(t);
                }
                None => return,
            }
        }
        panic!("drive: more than {MAX_INSTANTS} wake-ups");
    }
}
