//! # parley-net
//!
//! The only crate of Parley with sockets and timers. It binds the UDP, TCP and TLS listeners,
//! frames stream bytes into messages (RFC 3261 §18.3), and runs one driver task that owns the
//! sans-IO [`parley_sip::Endpoint`] (one owner, no locks): received messages go in through
//! `handle_*`, bytes to send come out of `poll_transmit`, events go to the
//! [`TransactionUser`], and the driver sleeps until `poll_timeout`.
//!
//! - [`ListenerSet`]: binds `--sip` addresses (UDP and TCP on one port) and TLS addresses.
//! - [`EndpointDriver`]: the run loop; [`EndpointDriver::run`] returns after a clean shutdown.
//! - [`TransactionUser`]: what the server implements to receive events and answer them.
//! - [`NetConfig`]: connection limits and timeouts. Every resource a peer can make us hold is
//!   bounded: connections in total and per IP, idle time, message size (`Limits`).

mod batch_io;
mod connections;
mod datagram;
mod driver;
mod listeners;
pub mod metric_names;
pub mod resolve;
mod seed;
mod shutdown;
mod stream;
pub mod tls;

pub use driver::{
    apply_command, Command, CommandNotSent, CommandSender, DriverStopped, EndpointCommands,
    EndpointDriver, TransactionUser,
};
pub use listeners::{bind_tcp_listener, host_addresses, BindError, ListenerSet};
pub use seed::random_seed;

use std::time::Duration;

/// Connection limits and timeouts of the transport layer.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Stream connections open at once, accepted and opened together. Beyond it new
    /// connections are closed at once (DESIGN.md: bounded everything).
    pub max_connections: usize,
    /// Stream connections open at once from one IP address.
    pub max_connections_per_ip: usize,
    /// A connection with no traffic in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake, and for connecting out.
    pub handshake_timeout: Duration,
    /// Time allowed to write one message to a peer that does not read.
    pub write_timeout: Duration,
    /// Client configuration for connections we open over TLS. Without it, messages that need a
    /// new outgoing TLS connection are dropped (and counted).
    pub tls_client: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            max_connections: 1024,
            max_connections_per_ip: 32,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            tls_client: None,
        }
    }
}
