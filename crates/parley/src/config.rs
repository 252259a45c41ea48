//! The configuration file (TOML) and how flags override it. Every option has a default, the
//! one `parley.example.toml` documents; unknown keys are refused so typos do not pass silently.

use parley_server::{
    AuthSettings, FederationSettings, MessagingSettings, RegistrarSettings, ServerConfig,
    TlsSettings,
};
use parley_sip::auth::Algorithm;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error(
        "a TLS certificate needs its key and a key its certificate (--tls-cert and --tls-key)"
    )]
    TlsHalf,
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error("registrar.min_expires_secs ({min}) must not exceed registrar.max_expires_secs ({max}), nor 3600")]
    ExpiresRange { min: u32, max: u32 },
    #[error("registrar.default_expires_secs ({default}) must lie between min_expires_secs and max_expires_secs")]
    DefaultExpires { default: u32 },
    #[error("auth.algorithms must list SHA-256 and/or MD5, each once (got {0:?})")]
    Algorithms(Vec<String>),
    #[error("presence.policy must be allow, same-domain or confirm (got {0:?})")]
    PresencePolicy(String),
    #[error("presence: min_expires_secs <= default_expires_secs <= max_expires_secs is required")]
    PresenceExpires,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// Domains served (`--domain`).
    pub domains: Vec<String>,
    /// Data directory (`--data`).
    pub data: PathBuf,
    /// tracing filter (`--log-level`): a level or `target=level` directives.
    pub log_level: String,
    /// Runtime worker threads for SIP, HTTP and the server's tasks (the SQLite writer and
    /// blocking pool are threads of their own); 0 is one per core. One by default: a
    /// transaction crosses several tasks, and on one worker they hand over without waking
    /// another thread, which costs less CPU per transaction than the parallelism gains
    /// (bench/notes.md).
    pub workers: usize,
    pub sip: SipSection,
    pub tls: TlsSection,
    pub http: HttpSection,
    pub auth: AuthSection,
    pub registrar: RegistrarSection,
    pub messaging: MessagingSection,
    pub federation: FederationSection,
    pub presence: PresenceSection,
}

/// `[presence]`: the presence server (RFC 3856, RFC 3903).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceSection {
    /// `allow`, `same-domain` or `confirm`.
    pub policy: String,
    pub min_expires_secs: u32,
    pub max_expires_secs: u32,
    pub default_expires_secs: u32,
    pub min_notify_interval_ms: u64,
    pub max_subscriptions_per_watcher: usize,
}

impl PresenceSection {
    fn settings(&self) -> Result<parley_server::presence::PresenceSettings, ConfigError> {
        use parley_server::presence::SubscriptionPolicy;
        let policy = match self.policy.as_str() {
            "allow" => SubscriptionPolicy::Allow,
            "same-domain" => SubscriptionPolicy::SameDomain,
            "confirm" => SubscriptionPolicy::Confirm,
            other => return Err(ConfigError::PresencePolicy(other.to_owned())),
        };
        if !(self.min_expires_secs <= self.default_expires_secs
            && self.default_expires_secs <= self.max_expires_secs)
        {
            return Err(ConfigError::PresenceExpires);
        }
        if self.max_subscriptions_per_watcher == 0 {
            return Err(ConfigError::Zero("presence.max_subscriptions_per_watcher"));
        }
        Ok(parley_server::presence::PresenceSettings {
            policy,
            notifier: parley_sip::subscription::NotifierConfig {
                min_expires: self.min_expires_secs,
                max_expires: self.max_expires_secs,
                default_expires: self.default_expires_secs,
                min_notify_interval: Duration::from_millis(self.min_notify_interval_ms),
            },
            max_subscriptions: self.max_subscriptions_per_watcher,
        })
    }
}

impl Default for PresenceSection {
    fn default() -> Self {
        let p = parley_server::presence::PresenceSettings::default();
        PresenceSection {
            policy: "allow".to_owned(),
            min_expires_secs: p.notifier.min_expires,
            max_expires_secs: p.notifier.max_expires,
            default_expires_secs: p.notifier.default_expires,
            min_notify_interval_ms: u64::try_from(p.notifier.min_notify_interval.as_millis())
                .unwrap_or(u64::MAX),
            max_subscriptions_per_watcher: p.max_subscriptions,
        }
    }
}

/// `[federation]`: requests for other domains.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSection {
    /// Forward them (RFC 3263) rather than refuse them with `403`.
    pub enabled: bool,
}

impl Default for FederationSection {
    fn default() -> Self {
        FederationSection {
            enabled: FederationSettings::default().enabled,
        }
    }
}

/// `[auth]`: digest authentication (RFC 3261 §22).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// `--auth on|off`. Off only for benchmarks.
    pub enabled: bool,
    pub nonce_lifetime_secs: u64,
    /// `SHA-256` and/or `MD5`, most preferred first.
    pub algorithms: Vec<String>,
}

/// `[registrar]`: registration intervals and limits (RFC 3261 §10.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarSection {
    pub min_expires_secs: u32,
    pub max_expires_secs: u32,
    pub default_expires_secs: u32,
    pub max_contacts: usize,
    pub purge_interval_secs: u64,
}

/// `[messaging]`: MESSAGE relay and offline store-and-forward (RFC 3428).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingSection {
    pub max_body_bytes: usize,
    pub offline_limit_per_user: usize,
    pub retry_interval_secs: u64,
    pub max_retry_interval_secs: u64,
}

impl Default for AuthSection {
    fn default() -> Self {
        let a = AuthSettings::default();
        AuthSection {
            enabled: a.enabled,
            nonce_lifetime_secs: a.nonce_lifetime.as_secs(),
            algorithms: a.algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
        }
    }
}

impl Default for RegistrarSection {
    fn default() -> Self {
        let r = RegistrarSettings::default();
        RegistrarSection {
            min_expires_secs: r.min_expires,
            max_expires_secs: r.max_expires,
            default_expires_secs: r.default_expires,
            max_contacts: r.max_contacts,
            purge_interval_secs: r.purge_interval.as_secs(),
        }
    }
}

impl Default for MessagingSection {
    fn default() -> Self {
        let m = MessagingSettings::default();
        MessagingSection {
            max_body_bytes: m.max_body_size,
            offline_limit_per_user: m.offline_limit,
            retry_interval_secs: m.retry_interval.as_secs(),
            max_retry_interval_secs: m.max_retry_interval.as_secs(),
        }
    }
}

/// `[sip]`: listeners, limits and timers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    /// UDP and TCP listeners (`--sip`).
    pub listen: Vec<SocketAddr>,
    pub max_message_size: usize,
    pub max_headers: usize,
    pub max_line_length: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_transactions: usize,
    pub idle_timeout_secs: u64,
    pub handshake_timeout_secs: u64,
    pub write_timeout_secs: u64,
    pub t1_ms: u64,
    pub t2_ms: u64,
    pub t4_ms: u64,
}

/// `[tls]`: the TLS listener, started only with both a certificate and a key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// `--tls`.
    pub listen: SocketAddr,
    /// `--tls-cert`: PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// `--tls-key`: PEM private key.
    pub key: Option<PathBuf>,
}

/// `[http]`: health and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// `--http`.
    pub listen: SocketAddr,
}

impl Default for FileConfig {
    fn default() -> Self {
        let server = ServerConfig::default();
        FileConfig {
            domains: server.domains,
            data: server.data_dir,
            log_level: "info".to_owned(),
            workers: 1,
            sip: SipSection::default(),
            tls: TlsSection::default(),
            http: HttpSection::default(),
            auth: AuthSection::default(),
            registrar: RegistrarSection::default(),
            messaging: MessagingSection::default(),
            federation: FederationSection::default(),
            presence: PresenceSection::default(),
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: ServerConfig::default().http,
        }
    }
}

impl Default for SipSection {
    fn default() -> Self {
        let server = ServerConfig::default();
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        SipSection {
            listen: server.sip,
            max_message_size: server.limits.max_message_size,
            max_headers: server.limits.max_headers,
            max_line_length: server.limits.max_line_length,
            max_connections: server.net.max_connections,
            max_connections_per_ip: server.net.max_connections_per_ip,
            max_transactions: server.max_transactions,
            idle_timeout_secs: server.net.idle_timeout.as_secs(),
            handshake_timeout_secs: server.net.handshake_timeout.as_secs(),
            write_timeout_secs: server.net.write_timeout.as_secs(),
            t1_ms: millis(server.timers.t1),
            t2_ms: millis(server.timers.t2),
            t4_ms: millis(server.timers.t4),
        }
    }
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            listen: SocketAddr::from(([0, 0, 0, 0], 5061)),
            cert: None,
            key: None,
        }
    }
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        FileConfig::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    pub fn parse(text: &str) -> Result<FileConfig, toml::de::Error> {
        toml::from_str(text)
    }

    /// The server configuration this file describes.
    pub fn into_server_config(self) -> Result<ServerConfig, ConfigError> {
        let s = &self.sip;
        for (name, value) in [
            ("sip.max_message_size", s.max_message_size as u64),
            ("sip.max_headers", s.max_headers as u64),
            ("sip.max_line_length", s.max_line_length as u64),
            ("sip.max_connections", s.max_connections as u64),
            (
                "sip.max_connections_per_ip",
                s.max_connections_per_ip as u64,
            ),
            ("sip.max_transactions", s.max_transactions as u64),
            ("sip.idle_timeout_secs", s.idle_timeout_secs),
            ("sip.handshake_timeout_secs", s.handshake_timeout_secs),
            ("sip.write_timeout_secs", s.write_timeout_secs),
            ("sip.t1_ms", s.t1_ms),
            ("sip.t2_ms", s.t2_ms),
            ("sip.t4_ms", s.t4_ms),
            ("auth.nonce_lifetime_secs", self.auth.nonce_lifetime_secs),
            ("registrar.max_contacts", self.registrar.max_contacts as u64),
            (
                "registrar.purge_interval_secs",
                self.registrar.purge_interval_secs,
            ),
            (
                "messaging.offline_limit_per_user",
                self.messaging.offline_limit_per_user as u64,
            ),
            (
                "messaging.retry_interval_secs",
                self.messaging.retry_interval_secs,
            ),
            (
                "messaging.max_retry_interval_secs",
                self.messaging.max_retry_interval_secs,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        let r = &self.registrar;
        if r.min_expires_secs > r.max_expires_secs || r.min_expires_secs > 3600 {
            return Err(ConfigError::ExpiresRange {
                min: r.min_expires_secs,
                max: r.max_expires_secs,
            });
        }
        if r.default_expires_secs < r.min_expires_secs
            || r.default_expires_secs > r.max_expires_secs
        {
            return Err(ConfigError::DefaultExpires {
                default: r.default_expires_secs,
            });
        }
        let algorithms = auth_algorithms(&self.auth.algorithms)?;
        let tls = match (self.tls.cert, self.tls.key) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                listen: self.tls.listen,
                cert,
                key,
            }),
            (None, None) => None,
            _ => return Err(ConfigError::TlsHalf),
        };
        let mut server = ServerConfig {
            domains: self.domains,
            sip: s.listen.clone(),
            tls,
            http: self.http.listen,
            data_dir: self.data,
            auth: AuthSettings {
                enabled: self.auth.enabled,
                nonce_lifetime: Duration::from_secs(self.auth.nonce_lifetime_secs),
                algorithms,
            },
            registrar: RegistrarSettings {
                min_expires: r.min_expires_secs,
                max_expires: r.max_expires_secs,
                default_expires: r.default_expires_secs,
                max_contacts: r.max_contacts,
                purge_interval: Duration::from_secs(r.purge_interval_secs),
            },
            messaging: MessagingSettings {
                max_body_size: self.messaging.max_body_bytes,
                offline_limit: self.messaging.offline_limit_per_user,
                retry_interval: Duration::from_secs(self.messaging.retry_interval_secs),
                max_retry_interval: Duration::from_secs(self.messaging.max_retry_interval_secs),
            },
            federation: FederationSettings {
                enabled: self.federation.enabled,
            },
            presence: self.presence.settings()?,
            ..ServerConfig::default()
        };
        server.limits.max_message_size = s.max_message_size;
        server.limits.max_headers = s.max_headers;
        server.limits.max_line_length = s.max_line_length;
        server.net.max_connections = s.max_connections;
        server.net.max_connections_per_ip = s.max_connections_per_ip;
        server.max_transactions = s.max_transactions;
        server.net.idle_timeout = Duration::from_secs(s.idle_timeout_secs);
        server.net.handshake_timeout = Duration::from_secs(s.handshake_timeout_secs);
        server.net.write_timeout = Duration::from_secs(s.write_timeout_secs);
        server.timers.t1 = Duration::from_millis(s.t1_ms);
        server.timers.t2 = Duration::from_millis(s.t2_ms);
        server.timers.t4 = Duration::from_millis(s.t4_ms);
        Ok(server)
    }
}

/// The digest algorithms named in `[auth] algorithms`.
fn auth_algorithms(names: &[String]) -> Result<Vec<Algorithm>, ConfigError> {
    let bad = || ConfigError::Algorithms(names.to_vec());
    let mut out = Vec::new();
    for name in names {
        match Algorithm::parse(name) {
            Some(a @ (Algorithm::Sha256 | Algorithm::Md5)) if !out.contains(&a) => out.push(a),
            _ => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../parley.example.toml");

    #[test]
    fn the_shipped_example_documents_the_defaults() {
        let parsed = FileConfig::parse(EXAMPLE).unwrap();
        assert_eq!(parsed, FileConfig::default());
        parsed.into_server_config().unwrap();
    }

    #[test]
    fn the_presence_section_is_checked() {
        let c = FileConfig::parse("[presence]\npolicy = \"confirm\"\nmin_notify_interval_ms = 250")
            .unwrap()
            .into_server_config()
            .unwrap();
        assert_eq!(
            c.presence.policy,
            parley_server::presence::SubscriptionPolicy::Confirm
        );
        assert_eq!(
            c.presence.notifier.min_notify_interval,
            Duration::from_millis(250)
        );
        let bad = FileConfig::parse("[presence]\npolicy = \"everyone\"").unwrap();
        assert!(bad.into_server_config().is_err());
        let bad = FileConfig::parse("[presence]\nmin_expires_secs = 7200").unwrap();
        assert!(bad.into_server_config().is_err());
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(FileConfig::parse("").unwrap(), FileConfig::default());
    }

    #[test]
    fn unknown_keys_and_half_tls_are_refused() {
        assert!(FileConfig::parse("domain = [\"x\"]").is_err());
        assert!(FileConfig::parse("[sip]\nlisten_on = []").is_err());
        let half = FileConfig::parse("[tls]\ncert = \"c.pem\"").unwrap();
        assert!(matches!(
            half.into_server_config(),
            Err(ConfigError::TlsHalf)
        ));
        let zero = FileConfig::parse("[sip]\nidle_timeout_secs = 0").unwrap();
        assert!(matches!(
            zero.into_server_config(),
            Err(ConfigError::Zero(_))
        ));
        assert!(FileConfig::parse("[auth]\nenable = false").is_err());
        let range = FileConfig::parse("[registrar]\nmin_expires_secs = 4000").unwrap();
        assert!(matches!(
            range.into_server_config(),
            Err(ConfigError::ExpiresRange { .. })
        ));
        for bad in [
            "[]",
            "[\"SHA-512-256\"]",
            "[\"MD5\", \"md5\"]",
            "[\"MD5-sess\"]",
        ] {
            let file = FileConfig::parse(&format!("[auth]\nalgorithms = {bad}")).unwrap();
            assert!(
                matches!(file.into_server_config(), Err(ConfigError::Algorithms(_))),
                "{bad}"
            );
        }
        let md5_first = FileConfig::parse("[auth]\nalgorithms = [\"MD5\", \"SHA-256\"]")
            .unwrap()
            .into_server_config()
            .unwrap();
        assert_eq!(
            md5_first.auth.algorithms,
            [Algorithm::Md5, Algorithm::Sha256]
        );
        let default = FileConfig::parse("[registrar]\ndefault_expires_secs = 10").unwrap();
        assert!(matches!(
            default.into_server_config(),
            Err(ConfigError::DefaultExpires { .. })
        ));
    }

    #[test]
    fn service_sections_reach_the_server_config() {
        let file = FileConfig::parse(
            "[auth]\nenabled = false\nnonce_lifetime_secs = 60\n\
             [registrar]\nmin_expires_secs = 30\nmax_expires_secs = 600\ndefault_expires_secs = 300\n\
             [messaging]\nmax_body_bytes = 1000\noffline_limit_per_user = 5\n\
             [federation]\nenabled = true\n",
        )
        .unwrap();
        let config = file.into_server_config().unwrap();
        assert!(!config.auth.enabled);
        assert_eq!(config.auth.nonce_lifetime, Duration::from_secs(60));
        assert_eq!(
            (
                config.registrar.min_expires,
                config.registrar.max_expires,
                config.registrar.default_expires
            ),
            (30, 600, 300)
        );
        assert_eq!(config.messaging.max_body_size, 1000);
        assert_eq!(config.messaging.offline_limit, 5);
        assert!(config.federation.enabled);
        assert!(
            !FileConfig::default()
                .into_server_config()
                .unwrap()
                .federation
                .enabled
        );
    }
}
