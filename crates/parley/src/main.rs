//! `parley`: the one binary of Parley. `parley serve` runs the server; later, `parley user …`
//! administers users and the client subcommands talk to a server.

mod cli_client;
mod cli_message;
mod cli_presence;
mod cli_register;
mod cli_user;
mod config;

use clap::{Args, Parser, Subcommand, ValueEnum};
use config::{ConfigError, FileConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: the server allocates and frees many small
/// buffers per message from several threads, and glibc's per-thread arenas kept the
/// transient memory of finished transactions (measured with bench/registrations.py).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "parley",
    version,
    about = "Parley: a SIP/SIMPLE presence and instant messaging server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server. Flags override the configuration file, which overrides the defaults.
    Serve(ServeArgs),
    /// Administer user accounts in the data directory.
    User(cli_user::UserArgs),
    /// Register an account with its server and stay registered until interrupted.
    Register(cli_register::RegisterArgs),
    /// Send or receive instant messages.
    Message(cli_message::MessageArgs),
    /// Publish presence, watch others' presence, see who watches, or serve our own presence.
    Presence(cli_presence::PresenceArgs),
}

/// The flags of `parley serve`; scripts rely on these names.
#[derive(Debug, Args)]
struct ServeArgs {
    /// A domain this server serves (repeatable) [default: localhost]. Its own listening
    /// addresses (IP and IP:PORT) are always served too.
    #[arg(long = "domain", value_name = "NAME")]
    domains: Vec<String>,
    /// Listen for SIP over UDP and TCP here (repeatable; port 0 picks a free port)
    /// [default: 0.0.0.0:5060].
    #[arg(long = "sip", value_name = "ADDR:PORT")]
    sip: Vec<SocketAddr>,
    /// Listen for SIP over TLS here; needs --tls-cert and --tls-key [default: 0.0.0.0:5061].
    #[arg(long, value_name = "ADDR:PORT")]
    tls: Option<SocketAddr>,
    /// PEM certificate chain for the TLS listener.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for the TLS listener.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// HTTP listener for /healthz and /metrics [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<SocketAddr>,
    /// Data directory, created if missing [default: ./parley-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Configuration file (TOML; see parley.example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives
    /// [default: info].
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Digest authentication of REGISTER and of requests from local users [default: on].
    /// `off` lets anyone register and send as anyone, with no accounts (every address at
    /// a served domain is a user): for benchmarks only (a warning is logged at start).
    #[arg(long, value_name = "on|off")]
    auth: Option<Switch>,
    /// Runtime worker threads; 0 is one per core [default: 1].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// An on/off flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Switch {
    On,
    Off,
}

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let result = match command {
        Command::Serve(args) => serve(args),
        Command::User(args) => return cli_user::run(args),
        Command::Register(args) => return cli_register::run(args),
        Command::Message(args) => return cli_message::run(args),
        Command::Presence(args) => return cli_presence::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("bad --log-level: {0}")]
    LogLevel(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Start(#[from] parley_server::StartError),
    #[error(transparent)]
    Run(#[from] parley_server::RunError),
}

fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let mut file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let tls_flag = args.tls.is_some();
    apply_flags(&mut file, args);
    init_logging(&file.log_level)?;
    let tls_missing = file.tls.cert.is_none() && file.tls.key.is_none();
    let workers = file.workers;
    let config = file.into_server_config()?;
    if tls_missing {
        if tls_flag {
            tracing::warn!("no TLS listener: --tls needs --tls-cert and --tls-key");
        } else {
            tracing::info!("no TLS listener (no --tls-cert and --tls-key)");
        }
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        runtime.worker_threads(workers);
    }
    let runtime = runtime.enable_all().build().map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let server = parley_server::Server::bind(config).await?;
        server.run(shutdown_signal()).await?;
        Ok(())
    })
}

fn apply_flags(file: &mut FileConfig, args: ServeArgs) {
    if !args.domains.is_empty() {
        file.domains = args.domains;
    }
    if !args.sip.is_empty() {
        file.sip.listen = args.sip;
    }
    if let Some(tls) = args.tls {
        file.tls.listen = tls;
    }
    if args.tls_cert.is_some() {
        file.tls.cert = args.tls_cert;
    }
    if args.tls_key.is_some() {
        file.tls.key = args.tls_key;
    }
    if let Some(http) = args.http {
        file.http.listen = http;
    }
    if let Some(data) = args.data {
        file.data = data;
    }
    if let Some(workers) = args.workers {
        file.workers = workers;
    }
    if let Some(level) = args.log_level {
        file.log_level = level;
    }
    if let Some(auth) = args.auth {
        file.auth.enabled = auth == Switch::On;
    }
}

fn init_logging(filter: &str) -> Result<(), ServeError> {
    cli_client::install_logging(filter).map_err(ServeError::LogLevel)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    cli_client::interrupted().await;
    tracing::info!("stop signal received");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Scripts and documentation rely on these flag names.
    #[test]
    fn serve_takes_the_documented_flags() {
        let cli = Cli::try_parse_from([
            "parley",
            "serve",
            "--domain",
            "a.example",
            "--domain",
            "b.example",
            "--sip",
            "127.0.0.1:0",
            "--sip",
            "[::1]:5070",
            "--tls",
            "127.0.0.1:5061",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--http",
            "127.0.0.1:0",
            "--data",
            "d",
            "--config",
            "parley.toml",
            "--log-level",
            "debug",
            "--auth",
            "off",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            unreachable!("parsed as serve")
        };
        assert_eq!(args.domains, ["a.example", "b.example"]);
        assert_eq!(args.sip.len(), 2);
        let mut file = FileConfig::default();
        apply_flags(&mut file, args);
        let config = file.into_server_config().unwrap();
        assert_eq!(config.tls.unwrap().cert, PathBuf::from("cert.pem"));
        assert_eq!(config.data_dir, PathBuf::from("d"));
        assert!(!config.auth.enabled);
    }

    #[test]
    fn flags_override_only_what_they_name() {
        let cli = Cli::try_parse_from(["parley", "serve", "--http", "127.0.0.1:9"]).unwrap();
        let Command::Serve(args) = cli.command else {
            unreachable!("parsed as serve")
        };
        let mut file = FileConfig::parse("domains = [\"x.example\"]").unwrap();
        apply_flags(&mut file, args);
        assert_eq!(file.domains, ["x.example"]);
        assert_eq!(file.http.listen.port(), 9);
        assert!(
            file.auth.enabled,
            "authentication stays on unless turned off"
        );
    }
}
