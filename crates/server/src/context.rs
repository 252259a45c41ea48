//! What the request handlers share: the store, the way back to the endpoint driver, the
//! settings, and the channels to the tasks that own state (proxy, registrar, offline
//! delivery). Immutable after start; handlers hold it in an `Arc`.

use crate::auth::DigestAuth;
use crate::clock::WallClock;
use crate::config::{MessagingSettings, RegistrarSettings};
use crate::domains::LocalDomains;
use crate::im::offline::OfflineHandle;
use crate::presence::PresenceHandle;
use crate::proxy::next_hop::Resolver;
use crate::proxy::ProxyHandle;
use crate::registrar::RegistrarHandle;
use bytes::Bytes;
use parley_net::{Command, CommandNotSent, CommandSender};
use parley_sip::{HeaderName, Message, TransactionId, Transport};
use parley_store::{Store, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;

/// Shared by every request handler.
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    pub commands: CommandSender,
    pub domains: LocalDomains,
    /// `None` when authentication is off.
    pub auth: Option<DigestAuth>,
    pub registrar: RegistrarSettings,
    pub messaging: MessagingSettings,
    /// Requests for other domains are forwarded (RFC 3263) rather than refused.
    pub federation: bool,
    /// Locates next hops (RFC 3263).
    pub resolver: Resolver,
    /// The `Server` header value.
    pub server_token: Bytes,
    /// The bound SIP listeners: requests we send leave from (and name in Via) one of these.
    pub listeners: Vec<(Transport, SocketAddr)>,
    pub proxy: ProxyHandle,
    pub registrations: RegistrarHandle,
    /// The live bindings of registered users, in front of the store.
    pub location: crate::registrar::location::Location,
    pub offline: OfflineHandle,
    pub presence: PresenceHandle,
    pub presence_settings: crate::presence::PresenceSettings,
    pub presence_policy: parley_presence::policy::PolicyEngine,
    /// NOTIFYs in flight, answered by the transaction user.
    pub notify_waiters: crate::presence::watch::NotifyWaiters,
    /// The open connections of registered contacts, for requests we send them
    /// ([`crate::in_dialog`]).
    pub flows: crate::registrar::flows::Flows,
    /// Wall-clock time (binding expiry, nonces, offline messages); virtual in simulations.
    pub clock: Arc<dyn WallClock>,
}

impl std::fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerContext")
            .field("domains", &self.domains)
            .field("auth", &self.auth.is_some())
            .field("federation", &self.federation)
            .field("listeners", &self.listeners)
            .finish_non_exhaustive()
    }
}

/// A fresh To tag for a response we generate (§8.2.6.2: random, at least 32 bits).
pub fn new_tag() -> String {
    // Sixteen hex digits written directly: every response the services build takes a tag.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = rand::random::<u64>();
    (0..16)
        .rev()
        .map(|i| char::from(HEX[usize::try_from((n >> (i * 4)) & 0xf).unwrap_or(0)]))
        .collect()
}

impl ServerContext {
    /// A response of ours to `request`, with a To tag and our `Server` header.
    pub fn response(&self, request: &Message, code: u16, reason: &str) -> Message {
        response(request, code, reason, &self.server_token)
    }

    /// Sends a response in server transaction `tx`. If the driver has stopped, the server is
    /// shutting down and nobody is left to answer.
    pub async fn respond(&self, tx: TransactionId, response: Message) {
        let class = response.status().map_or("6xx", crate::metrics::class_label);
        if self
            .commands
            .send(Command::Respond { tx, response })
            .await
            .is_ok()
        {
            metrics::counter!(crate::metrics::SIP_RESPONSES_SENT, "class" => class).increment(1);
        }
    }

    /// [`ServerContext::respond`] without waiting, from any thread (the store's writer
    /// thread answers a REGISTER from its commit): no task is woken but the driver. When the
    /// driver's queue is full, a task on `runtime` waits for room.
    pub fn respond_now(
        &self,
        runtime: &tokio::runtime::Handle,
        tx: TransactionId,
        response: Message,
    ) {
        let class = response.status().map_or("6xx", crate::metrics::class_label);
        match self.commands.try_send(Command::Respond { tx, response }) {
            Ok(()) => {
                metrics::counter!(crate::metrics::SIP_RESPONSES_SENT, "class" => class)
                    .increment(1);
            }
            Err(CommandNotSent::Full(command)) => {
                let commands = self.commands.clone();
                runtime.spawn(async move {
                    if commands.send(*command).await.is_ok() {
                        metrics::counter!(crate::metrics::SIP_RESPONSES_SENT, "class" => class)
                            .increment(1);
                    }
                });
            }
            Err(CommandNotSent::Stopped(_)) => {}
        }
    }

    /// Runs a store operation on the blocking pool (store calls may wait for a disk flush
    /// and must never run on a runtime worker).
    pub async fn store<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        blocking(&self.store, f).await
    }

    /// Whether `aor` is a user of ours. With authentication off there are no accounts to
    /// check a password against, so every address at our domains is a user, as on a
    /// registrar without authentication: anyone may register, publish or be messaged there
    /// (the harness of `bench/run` uses fresh names on every run).
    pub async fn is_user(&self, aor: &parley_store::Address) -> Result<bool, StoreError> {
        if self.auth.is_none() {
            return Ok(true);
        }
        let key = aor.clone();
        self.store(move |s| s.user(&key)).await.map(|u| u.is_some())
    }

    /// The listener to send over `transport` from (and name in Via). A TLS request without
    /// a TLS listener names the TCP one: replies come back on the connection anyway.
    pub fn listener(&self, transport: Transport) -> Option<(Transport, SocketAddr)> {
        let find = |t: Transport| self.listeners.iter().find(|(l, _)| *l == t).map(|l| l.1);
        let addr = find(transport).or_else(|| match transport {
            Transport::Tls => find(Transport::Tcp),
            _ => None,
        })?;
        Some((transport, addr))
    }
}

/// [`ServerContext::response`] for tasks that hold only the server token.
pub fn response(request: &Message, code: u16, reason: &str, server: &Bytes) -> Message {
    let mut r = request.response(code, reason, Some(&new_tag()));
    r.headers.push(HeaderName::Server, server.clone());
    r
}

/// Runs a store operation on the blocking pool. A panic in it reads as a closed store.
pub async fn blocking<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .unwrap_or(Err(StoreError::Closed))
}
