//! [`UserAgent`]: one account's SIP user agent over its own UDP and TCP sockets.
//!
//! Every request goes through one loop (RFC 3261 §8.1): built with fresh identifiers, sent as
//! a client transaction to the current server, answered by its final response. On the way:
//! `401`/`407` challenges are answered ([`crate::auth`]), and a timeout, refused connection
//! or `503` moves on to the next server the RFC 3263 lookup gave (§4.3).

use crate::account::Aor;
use crate::auth::{Attempt, AuthFailure, DigestClient};
use crate::error::ClientError;
use crate::incoming::IncomingMessage;
use crate::probe::{probe, route_source};
use crate::request::{self, RequestIds};
use crate::ua_core::{ClientCore, DialogRoute, Outcome, Pending, SharedPending};
use bytes::Bytes;
use parley_net::resolve::ServerTarget;
use parley_net::{Command, CommandSender, EndpointDriver, ListenerSet, NetConfig};
use parley_sip::{Destination, EndpointConfig, Message, TimerConfig};
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The `User-Agent` product token (RFC 3261 §20.41).
pub const USER_AGENT: &str = concat!("Parley/", env!("CARGO_PKG_VERSION"));

/// How a [`UserAgent`] is set up. Its `Debug` leaves the password out.
#[derive(Clone)]
pub struct UserAgentConfig {
    pub account: Aor,
    pub password: String,
    /// The servers to use, in the order to try them (from [`parley_net::resolve::locate`]
    /// or given by hand). Requests for any domain go to them (they act as outbound proxy).
    pub servers: Vec<ServerTarget>,
    /// The address to listen on and put in Contact and Via; by default the source address
    /// this host uses towards the first server.
    pub local_ip: Option<IpAddr>,
    /// The port to listen on (UDP and TCP); 0 picks a free one.
    pub local_port: u16,
    pub timers: TimerConfig,
    /// How long a request waits for its final response; by default Timer F, 64·T1.
    pub response_timeout: Duration,
    /// Received messages queued for the application before new ones are refused (503).
    pub incoming_queue: usize,
}

impl std::fmt::Debug for UserAgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentConfig")
            .field("account", &self.account)
            .field("servers", &self.servers)
            .field("local_ip", &self.local_ip)
            .field("local_port", &self.local_port)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl UserAgentConfig {
    pub fn new(account: Aor, password: &str, servers: Vec<ServerTarget>) -> UserAgentConfig {
        let timers = TimerConfig::default();
        UserAgentConfig {
            account,
            password: password.to_owned(),
            servers,
            local_ip: None,
            local_port: 0,
            response_timeout: timers.t1 * 64,
            timers,
            incoming_queue: 256,
        }
    }
}

/// A binding the registrar accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Seconds the binding lasts (the registrar may grant less than asked, §10.2.4).
    pub expires: u32,
    /// Our Contact URI.
    pub contact: String,
    pub server: ServerTarget,
}

/// The final answer to a MESSAGE that succeeded (RFC 3428 §8: 200, or 202 when a server
/// stored it for later delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub code: u16,
    pub reason: String,
}

impl Delivery {
    /// Whether the recipient has it (200) rather than a server holding it (202).
    pub fn delivered(&self) -> bool {
        self.code != 202
    }
}

/// A SIP user agent: a handle, cheap to clone; the sockets close when
/// [`UserAgent::shutdown`] is called or the last handle is dropped.
#[derive(Debug, Clone)]
pub struct UserAgent {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    account: Aor,
    servers: Vec<ServerTarget>,
    current: AtomicUsize,
    local: SocketAddr,
    response_timeout: Duration,
    commands: CommandSender,
    pending: SharedPending,
    dialogs: DialogRoute,
    auth: Mutex<DigestClient>,
    /// REGISTERs go one at a time with one Call-ID and increasing CSeq (RFC 3261 §10.2).
    register_ids: tokio::sync::Mutex<RequestIds>,
    /// The contact last bound, for unregistering.
    bound: Mutex<Option<Registration>>,
    incoming: Mutex<Option<mpsc::Receiver<IncomingMessage>>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    driver: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn random_token() -> String {
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

impl UserAgent {
    /// Binds the local sockets and starts the user agent. Servers that refuse at once (a
    /// closed port) are skipped; when all do, the server is reported unreachable.
    pub async fn start(config: UserAgentConfig) -> Result<UserAgent, ClientError> {
        let first = config
            .servers
            .first()
            .copied()
            .ok_or_else(|| ClientError::Unreachable {
                detail: "no server to contact".to_owned(),
            })?;
        let local_ip = match config.local_ip {
            Some(ip) => ip,
            None => route_source(first.addr).map_err(|e| ClientError::Unreachable {
                detail: format!("no route to {}: {e}", first.addr),
            })?,
        };
        let mut servers = Vec::new();
        let mut refusals = Vec::new();
        for target in &config.servers {
            if target.addr.is_ipv4() != local_ip.is_ipv4() {
                continue;
            }
            match probe(target, local_ip).await {
                Ok(()) => servers.push(*target),
                Err(why) => refusals.push(why),
            }
        }
        if servers.is_empty() {
            return Err(ClientError::Unreachable {
                detail: refusals.join("; "),
            });
        }
        let listeners =
            ListenerSet::bind(&[SocketAddr::new(local_ip, config.local_port)], &[]).await?;
        let local = listeners
            .local_addrs()
            .first()
            .map(|&(_, addr)| addr)
            .ok_or_else(|| ClientError::Internal("no local address".to_owned()))?;
        let endpoint = EndpointConfig {
            timers: config.timers,
            seed: parley_net::random_seed(),
            product: Some(USER_AGENT.to_owned()),
            ..EndpointConfig::default()
        };
        let net = NetConfig {
            max_connections: 64,
            max_connections_per_ip: 16,
            // The connection to the server is how it reaches us behind a NAT; keep it.
            idle_timeout: Duration::from_secs(7200),
            ..NetConfig::default()
        };
        let driver = EndpointDriver::new(listeners, endpoint, net);
        let commands = driver.command_sender();
        let pending = SharedPending::default();
        let dialogs = DialogRoute::default();
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_queue.max(1));
        let core = ClientCore {
            pending: Arc::clone(&pending),
            dialogs: Arc::clone(&dialogs),
            incoming: incoming_tx,
            product: USER_AGENT.to_owned(),
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(driver.run(core, async {
            let _ = stop_rx.await;
        }));
        let register_ids = RequestIds {
            call_id: format!("{}@{}", random_token(), local.ip()),
            from_tag: random_token(),
            cseq: rand::thread_rng().gen_range(1..10_000),
        };
        tracing::debug!(%local, servers = ?servers, "user agent started");
        Ok(UserAgent {
            inner: Arc::new(Inner {
                auth: Mutex::new(DigestClient::new(config.account.user(), &config.password)),
                account: config.account,
                servers,
                current: AtomicUsize::new(0),
                local,
                response_timeout: config.response_timeout,
                commands,
                pending,
                dialogs,
                register_ids: tokio::sync::Mutex::new(register_ids),
                bound: Mutex::new(None),
                incoming: Mutex::new(Some(incoming_rx)),
                stop: Mutex::new(Some(stop_tx)),
                driver: Mutex::new(Some(task)),
            }),
        })
    }

    pub fn account(&self) -> &Aor {
        &self.inner.account
    }

    /// The address our UDP and TCP sockets listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The server requests currently go to.
    pub fn server(&self) -> ServerTarget {
        let i = self.inner.current.load(Ordering::Relaxed);
        self.inner.servers[i.min(self.inner.servers.len() - 1)]
    }

    /// The received messages (RFC 3428), once: later calls get `None`. Until it is taken,
    /// messages queue; once the receiver is dropped, new ones are refused with 480.
    pub fn take_incoming(&self) -> Option<mpsc::Receiver<IncomingMessage>> {
        lock(&self.inner.incoming).take()
    }

    /// Registers our contact for `expires` seconds (RFC 3261 §10.2.1), answering challenges
    /// and raising `expires` to the registrar's `Min-Expires` after a 423 (§10.2.8).
    pub async fn register(&self, expires: u32) -> Result<Registration, ClientError> {
        let mut ids = self.inner.register_ids.lock().await;
        let mut expires = expires;
        let mut raised = false;
        loop {
            let local = self.inner.local;
            let account = self.inner.account.clone();
            let build = |ids: &RequestIds, target: &ServerTarget| {
                let contact = request::contact_uri(&account, local, target.transport);
                request::register(&account, &contact, expires, ids, USER_AGENT)
            };
            let (response, target) = self.request(&mut ids, build).await?;
            let (code, reason) = request::status(&response);
            let contact = request::contact_uri(&self.inner.account, local, target.transport);
            match code {
                200..=299 => {
                    if expires == 0 {
                        *lock(&self.inner.bound) = None;
                        return Ok(Registration {
                            expires: 0,
                            contact,
                            server: target,
                        });
                    }
                    let granted = request::granted_expires(&response, &contact, expires)
                        .ok_or(ClientError::NotBound)?;
                    let registration = Registration {
                        expires: granted,
                        contact,
                        server: target,
                    };
                    *lock(&self.inner.bound) = Some(registration.clone());
                    return Ok(registration);
                }
                423 if !raised => {
                    let min = response.min_expires().ok().flatten().unwrap_or(0);
                    if min <= expires {
                        return Err(failure(code, reason, &self.inner.account));
                    }
                    expires = min;
                    raised = true;
                }
                _ => return Err(failure(code, reason, &self.inner.account)),
            }
        }
    }

    /// Removes the binding made by [`UserAgent::register`] (REGISTER with `Expires: 0` for
    /// our contact only, RFC 3261 §10.2.2); nothing to do when none is bound.
    pub async fn unregister(&self) -> Result<(), ClientError> {
        let bound = lock(&self.inner.bound).clone();
        let Some(bound) = bound else {
            return Ok(());
        };
        let mut ids = self.inner.register_ids.lock().await;
        let account = self.inner.account.clone();
        let build = |ids: &RequestIds, _: &ServerTarget| {
            request::register(&account, &bound.contact, 0, ids, USER_AGENT)
        };
        let (response, _) = self.request(&mut ids, build).await?;
        let (code, reason) = request::status(&response);
        *lock(&self.inner.bound) = None;
        match code {
            200..=299 => Ok(()),
            _ => Err(failure(code, reason, &self.inner.account)),
        }
    }

    /// Sends a page-mode instant message (RFC 3428 §4) and returns its final answer.
    pub async fn send_message(
        &self,
        to: &Aor,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<Delivery, ClientError> {
        let body = body.into();
        let mut ids = RequestIds {
            call_id: format!("{}@{}", random_token(), self.inner.local.ip()),
            from_tag: random_token(),
            cseq: 1,
        };
        let account = self.inner.account.clone();
        let build = |ids: &RequestIds, _: &ServerTarget| {
            request::message(&account, to, content_type, body.clone(), ids, USER_AGENT)
        };
        let (response, _) = self.request(&mut ids, build).await?;
        let (code, reason) = request::status(&response);
        match code {
            200..=299 => Ok(Delivery { code, reason }),
            404 => Err(ClientError::UserUnknown {
                target: to.to_string(),
                reason,
            }),
            _ => Err(failure(code, reason, &self.inner.account)),
        }
    }

    /// Stops the sockets and waits for them to close. Does not unregister: call
    /// [`UserAgent::unregister`] first.
    pub async fn shutdown(&self) {
        if let Some(stop) = lock(&self.inner.stop).take() {
            let _ = stop.send(());
        }
        let task = lock(&self.inner.driver).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Where SUBSCRIBE and NOTIFY requests go (the presence agent sets it).
    pub(crate) fn dialog_route(&self) -> DialogRoute {
        Arc::clone(&self.inner.dialogs)
    }

    /// Our UDP Contact URI.
    pub fn contact(&self) -> String {
        request::contact_uri(
            &self.inner.account,
            self.inner.local,
            parley_sip::Transport::Udp,
        )
    }

    /// Answers a server transaction handed out by the core.
    pub(crate) async fn respond(
        &self,
        tx: parley_sip::TransactionId,
        response: Message,
    ) -> Result<(), ClientError> {
        self.inner
            .commands
            .send(Command::Respond { tx, response })
            .await
            .map_err(|_| ClientError::Stopped)
    }

    /// Sends a request built elsewhere (a SUBSCRIBE or NOTIFY of a dialog) and returns its
    /// final response, answering challenges with the same CSeq (the dialog state machines
    /// own the sequence). It goes straight to its Request-URI when that is an IP address
    /// and there is no Route (RFC 3856 §3.3: a UA reached at its contact), else to the server.
    pub(crate) async fn send_request(&self, message: Message) -> Result<Message, ClientError> {
        let mut attempt = Attempt::default();
        loop {
            let target = direct_target(&message).unwrap_or_else(|| self.server());
            let mut m = message.clone();
            let (method, uri) = match m.request_line() {
                Some(line) => (line.method.as_str().to_owned(), line.uri.to_string()),
                None => return Err(ClientError::Internal("not a request".to_owned())),
            };
            for (name, value) in lock(&self.inner.auth).credentials(&method, &uri) {
                m.headers.push(name, value);
            }
            let r = match self.transaction(m, target).await? {
                Outcome::Timeout => {
                    return Err(ClientError::timeout(
                        &target,
                        self.inner.response_timeout.as_secs(),
                    ))
                }
                Outcome::Response(r) => r,
            };
            if matches!(r.status(), Some(401 | 407)) {
                let answered = lock(&self.inner.auth).on_challenge(&r, &mut attempt);
                answered.map_err(|e| match e {
                    AuthFailure::Refused { .. } => ClientError::WrongPassword {
                        account: self.inner.account.to_string(),
                    },
                    other => ClientError::Auth(other),
                })?;
                continue;
            }
            return Ok(r);
        }
    }

    /// One request until its final response other than a challenge, failing over between
    /// servers. `build` makes the request for the current identifiers and server.
    pub(crate) async fn request(
        &self,
        ids: &mut RequestIds,
        build: impl Fn(&RequestIds, &ServerTarget) -> Message,
    ) -> Result<(Message, ServerTarget), ClientError> {
        let mut attempt = Attempt::default();
        let mut failovers = 0;
        loop {
            let target = self.server();
            let mut message = build(ids, &target);
            ids.cseq = ids.cseq.wrapping_add(1);
            let (method, uri) = match message.request_line() {
                Some(line) => (line.method.as_str().to_owned(), line.uri.to_string()),
                None => return Err(ClientError::Internal("not a request".to_owned())),
            };
            for (name, value) in lock(&self.inner.auth).credentials(&method, &uri) {
                message.headers.push(name, value);
            }
            let result = match self.transaction(message, target).await? {
                Outcome::Timeout => Err(ClientError::timeout(
                    &target,
                    self.inner.response_timeout.as_secs(),
                )),
                Outcome::Response(response) => Ok(response),
            };
            let response = match result {
                Ok(r) if r.status() == Some(503) && failovers + 1 < self.inner.servers.len() => {
                    Err(failure(503, request::status(&r).1, &self.inner.account))
                }
                other => other,
            };
            match response {
                Err(e) if e.is_server_failure() && failovers + 1 < self.inner.servers.len() => {
                    failovers += 1;
                    let next =
                        (self.inner.current.load(Ordering::Relaxed) + 1) % self.inner.servers.len();
                    self.inner.current.store(next, Ordering::Relaxed);
                    // Another server issues its own nonces: a challenge from it is news,
                    // not a refusal of the credentials answered to the last one.
                    attempt = Attempt::default();
                    tracing::warn!(error = %e, next = %self.server(), "trying the next server");
                }
                Err(e) => return Err(e),
                Ok(r) if matches!(r.status(), Some(401 | 407)) => {
                    let answered = lock(&self.inner.auth).on_challenge(&r, &mut attempt);
                    answered.map_err(|e| match e {
                        AuthFailure::Refused { .. } => ClientError::WrongPassword {
                            account: self.inner.account.to_string(),
                        },
                        other => ClientError::Auth(other),
                    })?;
                }
                Ok(r) => return Ok((r, target)),
            }
        }
    }

    /// Runs one client transaction and waits for how it ends.
    async fn transaction(
        &self,
        message: Message,
        target: ServerTarget,
    ) -> Result<Outcome, ClientError> {
        let (reply, started) = oneshot::channel();
        let command = Command::SendRequest {
            request: message,
            destination: Destination::Address {
                transport: target.transport,
                addr: target.addr,
            },
            local: (target.transport, self.inner.local),
            reply,
        };
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| ClientError::Stopped)?;
        let tx = started
            .await
            .map_err(|_| ClientError::Stopped)?
            .map_err(|e| ClientError::Internal(e.to_string()))?;
        let outcome = Pending::wait(&self.inner.pending, tx);
        match tokio::time::timeout(self.inner.response_timeout, outcome).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(ClientError::Stopped),
            Err(_) => Ok(Outcome::Timeout),
        }
    }
}

/// The address a request goes to directly: its Request-URI's when that is an IP literal and
/// no Route is set.
fn direct_target(message: &Message) -> Option<ServerTarget> {
    if message
        .headers
        .get(&parley_sip::HeaderName::Route)
        .is_some()
    {
        return None;
    }
    let parley_sip::Uri::Sip(uri) = message.uri()? else {
        return None;
    };
    let parley_sip::uri::Host::Ip(ip) = uri.host else {
        return None;
    };
    let transport = match uri.param("transport").flatten() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => parley_sip::Transport::Tcp,
        _ => parley_sip::Transport::Udp,
    };
    Some(ServerTarget {
        transport,
        addr: SocketAddr::new(ip, uri.port.unwrap_or(5060)),
    })
}

/// The error for a final response that is not a success.
pub(crate) fn failure(code: u16, reason: String, account: &Aor) -> ClientError {
    match code {
        403 => ClientError::Forbidden { reason },
        404 => ClientError::UserUnknown {
            target: account.to_string(),
            reason,
        },
        408 => ClientError::Unreachable {
            detail: format!("the server answered 408 {reason}"),
        },
        _ => ClientError::Rejected { code, reason },
    }
}
