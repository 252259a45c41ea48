//! The server's typed configuration. The binary fills it from its TOML file and flags; the
//! defaults here are the documented ones (`parley.example.toml`).

use parley_net::NetConfig;
use parley_sip::auth::Algorithm;
use parley_sip::{Limits, TimerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Digest authentication (RFC 3261 §22).
    pub auth: AuthSettings,
    /// Registration intervals and limits (RFC 3261 §10.3).
    pub registrar: RegistrarSettings,
    /// Page-mode instant messages and their offline store (RFC 3428).
    pub messaging: MessagingSettings,
    /// Forwarding requests to other domains.
    pub federation: FederationSettings,
    /// The presence server (RFC 3856): policy, subscription intervals, NOTIFY rate.
    pub presence: crate::presence::PresenceSettings,
}

/// Requests whose Request-URI (or next Route) names another domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FederationSettings {
    /// Forward them, from our authenticated users, to the servers RFC 3263 (NAPTR, SRV,
    /// A/AAAA) locates for that domain. Off by default: they get `403`.
    pub enabled: bool,
}

/// Digest authentication of REGISTER (`401`) and of requests from our users (`407`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Off only for benchmarks: anyone can then register as anyone, and every address at
    /// our domains is a user (no accounts needed). The server logs a warning at start when
    /// it is off.
    pub enabled: bool,
    /// How long a nonce stays fresh; older ones get a new challenge with `stale=true`.
    pub nonce_lifetime: Duration,
    /// The digest algorithms offered, one challenge each, most preferred first (RFC 8760
    /// §2.3): SHA-256 then MD5 by default. Clients that read only the first challenge and
    /// know only MD5 (sipsak, old phones) need MD5 first. Credentials computed with an
    /// algorithm not listed are refused.
    pub algorithms: Vec<Algorithm>,
}

/// Registration bindings: how long they may last and how many a user may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// Shortest interval accepted; shorter non-zero ones get `423 Interval Too Brief`. At most
    /// 3600 (RFC 3261 §10.3 step 7 forbids refusing intervals of an hour or more).
    pub min_expires: u32,
    /// Longest interval granted; longer requests are shortened to it.
    pub max_expires: u32,
    /// The interval of a contact that asks for none (no `expires` parameter or `Expires`).
    pub default_expires: u32,
    /// Most contacts bound to one address of record; more are refused with `403`.
    pub max_contacts: usize,
    /// How often expired bindings are deleted from the store (they are ignored from the
    /// moment they expire).
    pub purge_interval: Duration,
}

/// MESSAGE relay and offline store-and-forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingSettings {
    /// Largest MESSAGE body; larger ones get `513 Message Too Large` (RFC 3428 §7 suggests
    /// keeping page-mode messages small).
    pub max_body_size: usize,
    /// Offline messages kept per recipient; beyond it MESSAGEs get `480 Temporarily
    /// Unavailable` with the reason "mailbox full".
    pub offline_limit: usize,
    /// The first retry of a stored message whose delivery failed; each further retry waits
    /// twice as long, up to [`MessagingSettings::max_retry_interval`].
    pub retry_interval: Duration,
    /// The longest wait between two delivery attempts.
    pub max_retry_interval: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            enabled: true,
            nonce_lifetime: Duration::from_secs(parley_sip::auth::DEFAULT_NONCE_LIFETIME),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }
}

impl Default for RegistrarSettings {
    fn default() -> Self {
        RegistrarSettings {
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            max_contacts: 10,
            purge_interval: Duration::from_secs(60),
        }
    }
}

impl Default for MessagingSettings {
    fn default() -> Self {
        MessagingSettings {
            max_body_size: 61_440,
            offline_limit: 100,
            retry_interval: Duration::from_secs(30),
            max_retry_interval: Duration::from_secs(3600),
        }
    }
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
            auth: AuthSettings::default(),
            registrar: RegistrarSettings::default(),
            messaging: MessagingSettings::default(),
            federation: FederationSettings::default(),
            presence: crate::presence::PresenceSettings::default(),
        }
    }
}
