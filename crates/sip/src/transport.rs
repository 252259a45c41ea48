//! Transport identities the sans-IO core reasons about; the sockets themselves live in
//! `parley-net`.

use std::fmt;
use std::net::SocketAddr;

/// A SIP transport (RFC 3261 §18, RFC 7118 for WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    /// The Via transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Reliable transports carry responses back on the request's connection and need no
    /// retransmissions (RFC 3261 §17.1.1.2 sets Timer A only for unreliable ones).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    pub fn from_via_token(t: &str) -> Option<Transport> {
        Some(match t.to_ascii_uppercase().as_str() {
            "UDP" => Transport::Udp,
            "TCP" => Transport::Tcp,
            "TLS" => Transport::Tls,
            "WS" => Transport::Ws,
            "WSS" => Transport::Wss,
            _ => return None,
        })
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// A stream connection, numbered by `parley-net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub remote: SocketAddr,
    /// The local listener address it arrived on.
    pub local: SocketAddr,
    /// The connection, for stream transports.
    pub connection: Option<ConnectionId>,
}

/// Where to send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Over an existing stream connection.
    Connection(ConnectionId),
    /// To an address over a transport: a datagram for UDP; for streams, over a connection to
    /// that address, opened if none exists.
    Address {
        transport: Transport,
        addr: SocketAddr,
    },
}

/// A message ready to go out, produced by [`crate::Endpoint::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: Destination,
    /// When `destination` is a connection that has gone, a stream response falls back to
    /// this address (RFC 3261 §18.2.2: "open a new connection to the sent-by").
    pub fallback: Option<Destination>,
    pub data: bytes::Bytes,
}
