//! The configuration file (TOML) and how flags override it. Every option has a default, the
//! one `parley.example.toml` documents; unknown keys are refused so typos do not pass silently.

use parley_server::{ServerConfig, TlsSettings};
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
    pub sip: SipSection,
    pub tls: TlsSection,
    pub http: HttpSection,
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
            sip: SipSection::default(),
            tls: TlsSection::default(),
            http: HttpSection::default(),
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
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
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
    }
}
