//! # parley-server
//!
//! The services of Parley behind the SIP endpoint:
//! - [`router::Router`]: the stateless checks of RFC 3261 §16.3 / §8.2 and the choice of
//!   handler (registrar, proxy, or an answer at once);
//! - [`service::SipService`]: the transaction user on the driver task, which never blocks;
//! - [`inbound`]: one task per request handed over: authentication ([`auth`]), store lookups
//!   on the blocking pool, then the owner of the state it changes;
//! - [`registrar`]: bindings (RFC 3261 §10), applied one REGISTER at a time per address of
//!   record;
//! - [`proxy`]: the stateful forking proxy (§16), one task owning every forking context;
//! - [`im`]: page-mode MESSAGE rules and offline store-and-forward (RFC 3428);
//! - [`presence`]: the presence server (PUBLISH, SUBSCRIBE/NOTIFY for `presence`), one task
//!   owning publications and subscriptions;
//! - Prometheus [`metrics`] and the [`http`] listener.
//!
//! Durable state lives in a `parley_store::Store` (SQLite in the data directory by default).
//!
//! [`Server::bind`] binds every listener (so the bound addresses, port 0 included, are known
//! and become part of the server's domain) and [`Server::run`] serves until shutdown.

pub mod auth;
pub mod clock;
pub mod config;
pub mod context;
pub mod domains;
pub mod http;
pub mod im;
pub mod in_dialog;
pub mod inbound;
pub mod metrics;
mod periodic;
pub mod presence;
pub mod proxy;
pub mod registrar;
pub mod router;
pub mod secret;
pub mod service;
pub mod simulation;

pub use config::{
    AuthSettings, FederationSettings, MessagingSettings, RegistrarSettings, ServerConfig,
    TlsSettings,
};
pub use proxy::next_hop::{Resolver, ServerLocator};

use context::ServerContext;
use domains::LocalDomains;
use im::offline::{OfflineHandle, OfflineReceiver};
use parley_net::tls::TlsConfigError;
use parley_net::{BindError, EndpointDriver, ListenerSet};
use parley_sip::{EndpointConfig, Transport};
use parley_store::{SqliteStore, Store, StoreError};
use proxy::task::ProxyTask;
use proxy::ProxyHandle;
use registrar::{RegisterJob, RegistrarHandle};
use router::Router;
use service::SipService;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// The `Server` header field and the product in what the endpoint generates (RFC 3261 §20.35).
pub const SERVER_TOKEN: &str = concat!("Parley/", env!("CARGO_PKG_VERSION"));

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] TlsConfigError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("cannot bind http {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
}

fn create_data_dir(config: &ServerConfig) -> Result<(), StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })
}

/// How long shutdown waits for each listener to finish its work.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the server stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the SIP transport stopped: {0}")]
    Sip(String),
    #[error("the HTTP listener stopped: {0}")]
    Http(String),
}

fn task_failure(error: Option<tokio::task::JoinError>) -> String {
    error.map_or_else(|| "ended".to_owned(), |e| e.to_string())
}

/// The addresses the server listens on, with the real ports.
#[derive(Debug, Clone)]
pub struct BoundAddrs {
    pub sip: Vec<(Transport, SocketAddr)>,
    pub http: SocketAddr,
}

impl BoundAddrs {
    /// The first listener of a transport.
    pub fn first(&self, transport: Transport) -> Option<SocketAddr> {
        self.sip
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
    }
}

/// What [`assemble`] builds a server from.
struct Assembly<'a> {
    config: &'a ServerConfig,
    store: Arc<dyn Store>,
    dns: Arc<dyn ServerLocator>,
    commands: parley_net::CommandSender,
    listeners: Vec<(Transport, SocketAddr)>,
    domains: LocalDomains,
    auth: Option<auth::DigestAuth>,
    clock: Arc<dyn clock::WallClock>,
}

/// The context, the transaction user and the (not yet started) tasks that own state: all of
/// a server but its sockets.
fn assemble(a: Assembly<'_>) -> (Arc<ServerContext>, SipService, Background) {
    let config = a.config;
    let (proxy, proxy_inputs) = ProxyHandle::channel();
    let (registrations, registrar) = RegistrarHandle::channel();
    let (offline, offline_inputs) = OfflineHandle::channel();
    let (presence, presence_jobs) = presence::PresenceHandle::channel();
    let server_token = bytes::Bytes::from_static(SERVER_TOKEN.as_bytes());
    let transports: Vec<Transport> = a.listeners.iter().map(|(t, _)| *t).collect();
    if config.federation.enabled {
        tracing::info!("federation on: requests for other domains are forwarded");
    }
    let ctx = Arc::new(ServerContext {
        store: a.store,
        commands: a.commands.clone(),
        domains: a.domains.clone(),
        auth: a.auth,
        registrar: config.registrar.clone(),
        messaging: config.messaging.clone(),
        federation: config.federation.enabled,
        resolver: Resolver::new(a.dns, &transports),
        server_token: server_token.clone(),
        listeners: a.listeners.clone(),
        proxy,
        registrations,
        location: registrar::location::Location::default(),
        offline,
        presence,
        presence_settings: config.presence.clone(),
        presence_policy: parley_presence::policy::PolicyEngine::new(config.presence.policy),
        notify_waiters: presence::watch::NotifyWaiters::default(),
        flows: registrar::flows::Flows::default(),
        clock: a.clock,
    });
    let service = SipService::new(
        Router::new(a.domains, SERVER_TOKEN).with_federation(config.federation.enabled),
        ctx.clone(),
    );
    let background = Background {
        proxy: ProxyTask::new(proxy_inputs, a.commands, a.listeners, server_token),
        registrar,
        offline: offline_inputs,
        presence: presence_jobs,
    };
    (ctx, service, background)
}

impl Background {
    /// Starts the tasks; they stop when `stop` turns true.
    fn spawn(
        self,
        ctx: &Arc<ServerContext>,
        stop: &watch::Receiver<bool>,
    ) -> [tokio::task::JoinHandle<()>; 6] {
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|&stopping| stopping).await;
        };
        let Background {
            proxy,
            registrar,
            offline,
            presence,
        } = self;
        [
            tokio::spawn(proxy.run(stopped(stop.clone()))),
            tokio::spawn(registrar::run(
                ctx.clone(),
                registrar,
                stopped(stop.clone()),
            )),
            tokio::spawn(im::offline::run(
                ctx.clone(),
                offline,
                stopped(stop.clone()),
            )),
            tokio::spawn(registrar::purge(ctx.clone(), stopped(stop.clone()))),
            tokio::spawn(presence::purge(ctx.clone(), stopped(stop.clone()))),
            tokio::spawn(presence::run(ctx.clone(), presence, stopped(stop.clone()))),
        ]
    }
}

/// A server whose listeners are bound.
#[derive(Debug)]
pub struct Server {
    driver: EndpointDriver,
    service: SipService,
    http: TcpListener,
    addrs: BoundAddrs,
    ctx: Arc<ServerContext>,
    background: Background,
}

/// The tasks that own state, started by [`Server::run`].
#[derive(Debug)]
struct Background {
    proxy: ProxyTask,
    registrar: mpsc::Receiver<RegisterJob>,
    offline: OfflineReceiver,
    presence: presence::PresenceJobs,
}

impl Server {
    /// Creates the data directory, opens the SQLite store in it, loads the TLS certificate
    /// and binds every listener, logging one line per listener.
    pub async fn bind(config: ServerConfig) -> Result<Server, StartError> {
        create_data_dir(&config)?;
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
            .await
            .unwrap_or(Err(StoreError::Closed))?;
        tracing::info!(path = %store.path().display(), "store open");
        Server::bind_with_store(config, Arc::new(store)).await
    }

    /// [`Server::bind`] with a store of the caller's (tests use the in-memory one).
    pub async fn bind_with_store(
        config: ServerConfig,
        store: Arc<dyn Store>,
    ) -> Result<Server, StartError> {
        Server::bind_with(config, store, Resolver::system_dns()).await
    }

    /// [`Server::bind_with_store`] with DNS lookups of the caller's (tests use a table of
    /// records).
    pub async fn bind_with(
        config: ServerConfig,
        store: Arc<dyn Store>,
        dns: Arc<dyn ServerLocator>,
    ) -> Result<Server, StartError> {
        create_data_dir(&config)?;
        let tls = match &config.tls {
            Some(t) => vec![(
                t.listen,
                parley_net::tls::server_config_from_pem(&t.cert, &t.key)?,
            )],
            None => Vec::new(),
        };
        let listeners = ListenerSet::bind(&config.sip, &tls).await?;
        let sip = listeners.local_addrs();
        for (transport, addr) in &sip {
            let name = transport.via_token().to_ascii_lowercase();
            tracing::info!("listening sip {name} {addr}");
        }
        let http =
            parley_net::bind_tcp_listener(config.http).map_err(|source| StartError::Http {
                addr: config.http,
                source,
            })?;
        let http_addr = http.local_addr().map_err(|source| StartError::Http {
            addr: config.http,
            source,
        })?;
        tracing::info!("listening http {http_addr}");

        // Installs the exporter now so that `parley_up` is 1 from the first scrape.
        let _ = metrics::prometheus();
        let listen: Vec<SocketAddr> = sip.iter().map(|(_, a)| *a).collect();
        let domains = LocalDomains::new(&config.domains, &listen, &parley_net::host_addresses());
        tracing::info!(domains = ?domains.names(), addresses = ?domains.addresses(), "serving domains");
        let endpoint = EndpointConfig {
            limits: config.limits,
            timers: config.timers,
            seed: parley_net::random_seed(),
            product: Some(SERVER_TOKEN.to_owned()),
            max_transactions: config.max_transactions,
            ..EndpointConfig::default()
        };
        let auth = if config.auth.enabled {
            let secret = secret::load_or_create(&config.data_dir)?;
            Some(auth::DigestAuth::new(
                &secret,
                rand::random(),
                config.auth.nonce_lifetime,
                &config.auth.algorithms,
            ))
        } else {
            tracing::warn!(
                "authentication is OFF: anyone can register as and send as any user (benchmarks only)"
            );
            None
        };
        let driver = EndpointDriver::new(listeners, endpoint, config.net.clone());
        let (ctx, service, background) = assemble(Assembly {
            config: &config,
            store,
            dns,
            commands: driver.command_sender(),
            listeners: sip.clone(),
            domains,
            auth,
            clock: Arc::new(clock::SystemClock),
        });
        Ok(Server {
            driver,
            service,
            http,
            addrs: BoundAddrs {
                sip,
                http: http_addr,
            },
            background,
            ctx,
        })
    }

    pub fn addrs(&self) -> &BoundAddrs {
        &self.addrs
    }

    /// The store the server uses.
    pub fn store(&self) -> Arc<dyn Store> {
        self.ctx.store.clone()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets the HTTP requests and SIP
    /// connections in progress finish (bounded), and returns. Returns early, with an error,
    /// if a listener task fails: a server that cannot serve should stop and be restarted
    /// rather than stay up deaf.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|&stopping| stopping).await;
        };
        let mut http = tokio::spawn(http::serve(
            self.http,
            metrics::prometheus().clone(),
            self.ctx.clone(),
            stopped(stop_rx.clone()),
        ));
        let background = self.background.spawn(&self.ctx, &stop_rx);
        let mut sip = tokio::spawn(self.driver.run(self.service, stopped(stop_rx)));
        let mut failure = None;
        tokio::select! {
            () = shutdown => tracing::info!("shutting down"),
            finished = &mut sip => failure = Some(RunError::Sip(task_failure(finished.err()))),
            finished = &mut http => failure = Some(RunError::Http(match finished {
                Ok(Ok(())) => "stopped".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            })),
        }
        if let Some(f) = &failure {
            tracing::error!("{f}; shutting down");
        }
        let _ = stop_tx.send(true);
        // A task that ended in the select above has been awaited already.
        if !sip.is_finished() && tokio::time::timeout(SHUTDOWN_LIMIT, sip).await.is_err() {
            tracing::warn!("the SIP transport did not stop in time");
        }
        if !http.is_finished() && tokio::time::timeout(SHUTDOWN_LIMIT, http).await.is_err() {
            tracing::warn!("the HTTP listener did not stop in time");
        }
        for task in background {
            if tokio::time::timeout(SHUTDOWN_LIMIT, task).await.is_err() {
                tracing::warn!("a service task did not stop in time");
            }
        }
        tracing::info!("stopped");
        failure.map_or(Ok(()), Err)
    }
}
