//! The server's typed configuration. The binary fills it from its TOML file and flags; the
//! defaults here are the documented ones (`parley.example.toml`).

use parley_net::NetConfig;
use parley_sip::{Limits, TimerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `Server::bind` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Domains served; the listening addresses are added to them.
    pub domains: Vec<String>,
    /// Addresses bound for SIP over UDP and TCP, each on both.
    pub sip: Vec<SocketAddr>,
    /// The SIP over TLS listener, if any.
    pub tls: Option<TlsSettings>,
    /// The HTTP listener (health, metrics).
    pub http: SocketAddr,
    /// Where durable state is kept; created at start.
    pub data_dir: PathBuf,
    /// Message size, header count and line length bounds.
    pub limits: Limits,
    /// SIP timer base values T1, T2, T4.
    pub timers: TimerConfig,
    /// Connection limits and timeouts.
    pub net: NetConfig,
    /// Transactions alive at once; beyond it new requests get `503` with `Retry-After`.
    pub max_transactions: usize,
}

/// A TLS listener and its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            domains: vec!["localhost".to_owned()],
            sip: vec![SocketAddr::from(([0, 0, 0, 0], 5060))],
            tls: None,
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./parley-data"),
            limits: Limits::default(),
            timers: TimerConfig::default(),
            net: NetConfig::default(),
            max_transactions: parley_sip::EndpointConfig::default().max_transactions,
        }
    }
}
