//! What the client subcommands (`parley register`, `parley message …`) share: the account,
//! password and server from flags, environment or a client config file; locating the server
//! (RFC 3263, or `--server`); starting the user agent; logging; interrupts.

use clap::{Args, ValueEnum};
use parley_client::{Aor, ClientError, UserAgent, UserAgentConfig};
use parley_net::resolve::{self, LocateError, Preferences, SystemDns, Target, TargetError};
use parley_sip::Transport;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The account and server options of every client subcommand (scripts rely on these names).
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The account to use, user@domain.
    #[arg(long, env = "PARLEY_ACCOUNT", value_name = "USER@DOMAIN")]
    account: Option<String>,
    /// The account's password (PARLEY_PASSWORD keeps it out of the process list).
    #[arg(long, env = "PARLEY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The server, instead of locating it from the account's domain by DNS (RFC 3263).
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// Transport to the server [default: udp, unless the domain's DNS records prefer TCP].
    #[arg(long, value_enum)]
    transport: Option<TransportArg>,
    /// Client configuration file (TOML: account, password, server, transport); flags and
    /// environment variables override it.
    #[arg(long, value_name = "FILE")]
    client_config: Option<PathBuf>,
    /// Seconds to wait for the server's answer to a request.
    #[arg(long, value_name = "SECS", default_value_t = 32)]
    timeout: u64,
    /// Log filter for diagnostics on stderr (error, warn, info, debug, trace).
    #[arg(long, value_name = "FILTER", default_value = "warn")]
    log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportArg {
    Udp,
    Tcp,
}

impl From<TransportArg> for Transport {
    fn from(t: TransportArg) -> Transport {
        match t {
            TransportArg::Udp => Transport::Udp,
            TransportArg::Tcp => Transport::Tcp,
        }
    }
}

/// The client configuration file.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    pub account: Option<String>,
    pub password: Option<String>,
    pub server: Option<String>,
    pub transport: Option<TransportArg>,
}

/// Why a client subcommand failed; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    ParseConfig {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("no account: give --account USER@DOMAIN, set PARLEY_ACCOUNT, or use --client-config")]
    NoAccount,
    #[error("no password: give --password, set PARLEY_PASSWORD, or use --client-config")]
    NoPassword,
    #[error(transparent)]
    Account(#[from] parley_client::AorError),
    #[error("bad --server: {0}")]
    Server(#[from] TargetError),
    #[error("cannot locate the SIP server of {domain}: {source}")]
    Locate { domain: String, source: LocateError },
    #[error("bad --log-level: {0}")]
    LogLevel(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Api(#[from] parley_client::presence::decisions::ApiError),
    #[error("cannot read the message from standard input: {0}")]
    Stdin(std::io::Error),
}

/// The settings after flags, environment and file are merged. `Debug` leaves the password
/// out.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub account: Aor,
    pub password: String,
    pub server: Option<String>,
    pub transport: Option<Transport>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("account", &self.account)
            .field("server", &self.server)
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientArgs {
    /// Merges flags (and their environment variables) over the client config file.
    pub fn settings(&self) -> Result<Settings, CliError> {
        let file = match &self.client_config {
            Some(path) => load_client_file(path)?,
            None => ClientFile::default(),
        };
        let account = self
            .account
            .clone()
            .or(file.account)
            .ok_or(CliError::NoAccount)?;
        let password = self
            .password
            .clone()
            .or(file.password)
            .ok_or(CliError::NoPassword)?;
        Ok(Settings {
            account: Aor::parse(&account)?,
            password,
            server: self.server.clone().or(file.server),
            transport: self.transport.or(file.transport).map(Transport::from),
            timeout: Duration::from_secs(self.timeout.max(1)),
        })
    }

    pub fn log_level(&self) -> &str {
        &self.log_level
    }
}

pub fn load_client_file(path: &Path) -> Result<ClientFile, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| CliError::ParseConfig {
        path: path.to_owned(),
        source,
    })
}

/// Locates the servers (RFC 3263 on the account's domain, or `--server`) and starts a user
/// agent for the account.
pub async fn start_agent(settings: &Settings) -> Result<UserAgent, CliError> {
    let (target, domain) = match &settings.server {
        Some(server) => (Target::parse(server)?, server.clone()),
        None => (
            Target::parse(settings.account.domain())?,
            settings.account.domain().to_owned(),
        ),
    };
    let prefs = Preferences {
        forced: settings.transport,
        ..Preferences::default()
    };
    let locate_error = |source| CliError::Locate {
        domain: domain.clone(),
        source,
    };
    let servers = match target {
        // No DNS, so no resolver configuration needed.
        Target::Ip { .. } => resolve::locate(&NoDns, &target, &prefs, random).await,
        Target::Name { .. } => {
            let dns = SystemDns::new().map_err(|e| locate_error(LocateError::Lookup(e)))?;
            resolve::locate(&dns, &target, &prefs, random).await
        }
    }
    .map_err(locate_error)?;
    tracing::debug!(?servers, "servers located");
    let mut config = UserAgentConfig::new(settings.account.clone(), &settings.password, servers);
    config.response_timeout = settings.timeout;
    Ok(UserAgent::start(config).await?)
}

fn random(max: u32) -> u32 {
    rand::Rng::gen_range(&mut rand::thread_rng(), 0..=max)
}

/// Lookups for IP literals, which need none.
struct NoDns;

impl resolve::DnsLookup for NoDns {
    async fn naptr(&self, _: &str) -> Result<Vec<resolve::NaptrRecord>, resolve::LookupError> {
        Ok(Vec::new())
    }
    async fn srv(&self, _: &str) -> Result<Vec<resolve::SrvRecord>, resolve::LookupError> {
        Ok(Vec::new())
    }
    async fn ip(&self, _: &str) -> Result<Vec<std::net::IpAddr>, resolve::LookupError> {
        Ok(Vec::new())
    }
}

/// Diagnostics on stderr at `filter` (the client's output proper goes to stdout).
pub fn init_logging(filter: &str) -> Result<(), CliError> {
    install_logging(filter).map_err(CliError::LogLevel)
}

/// Installs the tracing subscriber on stderr, for `serve` and the client subcommands alike;
/// the error is the filter's complaint.
pub fn install_logging(filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    // Colour codes only help a person at a terminal; in files and journals they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

/// A single-threaded runtime: a client has one account and a few sockets.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// Completes on SIGINT or SIGTERM.
pub async fn interrupted() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// How long unregistering may take when the user is leaving.
pub const UNREGISTER_LIMIT: Duration = Duration::from_secs(5);

/// Removes our binding (best effort, bounded in time) and closes the sockets.
pub async fn leave(ua: &UserAgent) {
    match tokio::time::timeout(UNREGISTER_LIMIT, ua.unregister()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("parley: warning: could not unregister: {e}"),
        Err(_) => eprintln!("parley: warning: could not unregister: no answer in time"),
    }
    ua.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        client: ClientArgs,
    }

    fn parse(args: &[&str]) -> ClientArgs {
        let mut argv = vec!["client"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().client
    }

    #[test]
    fn flags_override_the_client_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(
            &path,
            "account = \"alice@example.test\"\npassword = \"secret\"\nserver = \"127.0.0.1:5070\"\ntransport = \"tcp\"\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let s = parse(&["--client-config", file]).settings().unwrap();
        assert_eq!(s.account.to_string(), "alice@example.test");
        assert_eq!(s.password, "secret");
        assert_eq!(s.server.as_deref(), Some("127.0.0.1:5070"));
        assert_eq!(s.transport, Some(Transport::Tcp));
        let s = parse(&[
            "--client-config",
            file,
            "--account",
            "bob@example.test",
            "--password",
            "pw",
            "--server",
            "192.0.2.1",
            "--transport",
            "udp",
        ])
        .settings()
        .unwrap();
        assert_eq!(s.account.to_string(), "bob@example.test");
        assert_eq!(
            (s.password.as_str(), s.server.as_deref()),
            ("pw", Some("192.0.2.1"))
        );
        assert_eq!(s.transport, Some(Transport::Udp));
        std::fs::write(&path, "acount = \"x\"\n").unwrap();
        assert!(matches!(
            parse(&["--client-config", file]).settings(),
            Err(CliError::ParseConfig { .. })
        ));
    }

    #[test]
    fn missing_or_bad_account() {
        // Flags only (the environment may hold PARLEY_* in a developer's shell).
        let args = ClientArgs {
            account: None,
            ..parse(&["--password", "x"])
        };
        assert!(matches!(args.settings(), Err(CliError::NoAccount)));
        let args = ClientArgs {
            account: Some("alice".into()),
            ..parse(&["--password", "x"])
        };
        assert!(matches!(args.settings(), Err(CliError::Account(_))));
    }
}
