//! The server without sockets, for deterministic simulation tests (STYLE.md item 8): the
//! context, the transaction user and the tasks that own state (proxy, registrar, offline
//! delivery, purge) over a store and a wall clock of the caller's, with a sans-IO
//! [`Endpoint`] the harness drives itself. The harness moves messages between the endpoint
//! and a simulated network, hands the endpoint's events to [`SimServer::handle_event`] and
//! applies the commands the tasks send ([`SimServer::next_command`],
//! [`SimServer::apply`]), all at the virtual instants it chooses.

use crate::clock::WallClock;
use crate::config::ServerConfig;
use crate::context::ServerContext;
use crate::domains::LocalDomains;
use crate::proxy::next_hop::ServerLocator;
use crate::service::SipService;
use crate::{assemble, auth, Assembly, SERVER_TOKEN};
use parley_net::{apply_command, Command, CommandSender, EndpointCommands, TransactionUser};
use parley_sip::{Endpoint, EndpointConfig, Event, Transport};
use parley_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// Commands from the tasks waiting for the harness.
const COMMAND_QUEUE: usize = 4096;

/// What a simulated server is made of.
pub struct SimSetup {
    /// Domains, auth, registrar and messaging settings, timers and limits (the socket
    /// settings are ignored).
    pub config: ServerConfig,
    /// The addresses the server "listens" on.
    pub listeners: Vec<(Transport, SocketAddr)>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn WallClock>,
    pub dns: Arc<dyn ServerLocator>,
    /// Seeds the endpoint's branches and tags and the nonce salt.
    pub seed: u64,
    /// The secret nonces are made with.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SimSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSetup")
            .field("listeners", &self.listeners)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// A running server without sockets; its tasks stop when it is dropped.
#[derive(Debug)]
pub struct SimServer {
    pub endpoint: Endpoint,
    service: SipService,
    commands: mpsc::Receiver<Command>,
    ctx: Arc<ServerContext>,
    stop: watch::Sender<bool>,
}

impl SimServer {
    /// Assembles the server and starts its tasks (on the current tokio runtime).
    pub fn start(setup: SimSetup) -> SimServer {
        let SimSetup {
            config,
            listeners,
            store,
            clock,
            dns,
            seed,
            secret,
        } = setup;
        let addrs: Vec<SocketAddr> = listeners.iter().map(|(_, a)| *a).collect();
        let domains = LocalDomains::new(&config.domains, &addrs, &[]);
        let auth = config.auth.enabled.then(|| {
            auth::DigestAuth::new(
                &secret,
                seed,
                config.auth.nonce_lifetime,
                &config.auth.algorithms,
            )
        });
        let endpoint = Endpoint::new(EndpointConfig {
            limits: config.limits,
            timers: config.timers,
            seed,
            product: Some(SERVER_TOKEN.to_owned()),
            max_transactions: config.max_transactions,
            ..EndpointConfig::default()
        });
        let (sender, commands) = CommandSender::channel(COMMAND_QUEUE);
        let (ctx, service, background) = assemble(Assembly {
            config: &config,
            store,
            dns,
            commands: sender,
            listeners,
            domains,
            auth,
            clock,
        });
        let (stop, stop_rx) = watch::channel(false);
        let _tasks = background.spawn(&ctx, &stop_rx);
        SimServer {
            endpoint,
            service,
            commands,
            ctx,
            stop,
        }
    }

    /// The shared context (store, settings, clock).
    pub fn context(&self) -> &Arc<ServerContext> {
        &self.ctx
    }

    /// Hands an event of [`SimServer::endpoint`] to the transaction user at `now`.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        let mut commands = EndpointCommands::new(&mut self.endpoint, now);
        self.service.handle_event(event, &mut commands);
    }

    /// A command from a task, if one is waiting.
    pub fn try_command(&mut self) -> Option<Command> {
        self.commands.try_recv().ok()
    }

    /// Waits for a command from a task.
    pub async fn next_command(&mut self) -> Option<Command> {
        self.commands.recv().await
    }

    /// Applies a command to the endpoint at `now`, as the driver does.
    pub fn apply(&mut self, now: Instant, command: Command) {
        apply_command(&mut self.endpoint, now, command);
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
