//! The proxy task: the one owner of the forking contexts and of the set of live
//! connections.
//!
//! A request's branches are started one after the other, each waiting for the driver to
//! return its client transaction id before the next input is read, so that no response can
//! be read before its transaction is known. The driver never waits for this task (the
//! transaction user only `try_send`s to it), so the wait cannot deadlock.

use super::fork::{Fork, Upstream};
use super::forward::forward_copy;
use super::{Forward, Origin, ProxyInput, Target};
use crate::metrics::{PROXY_FORWARDED, PROXY_LOOPS};
use bytes::Bytes;
use parley_net::{Command, CommandSender};
use parley_sip::{
    ConnectionId, Destination, EndpointError, Message, Method, TransactionId, Transport,
};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How long an INVITE may wait for its final response (Timer C, RFC 3261 §16.8: more than
/// three minutes).
const TIMER_C: Duration = Duration::from_secs(181);
/// How long any other request's context lives at most: its branches time out after 64·T1
/// (32 s by default); the margin covers larger configured timers.
const NON_INVITE_LIMIT: Duration = Duration::from_secs(64);
/// How often expired contexts are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The fields that tell a looping request from a spiral (§16.3 step 4): a request that
/// comes back through us with all of them unchanged has gone round in a circle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LoopKey {
    request_uri: String,
    call_id: String,
    cseq: u32,
    from_tag: String,
}

impl LoopKey {
    fn of(request: &Message) -> Option<LoopKey> {
        Some(LoopKey {
            request_uri: request.uri()?.to_string(),
            call_id: request.call_id().ok()?.to_owned(),
            cseq: request.cseq().ok()?.seq,
            from_tag: request.from_header().ok()?.tag()?.to_owned(),
        })
    }
}

/// One forwarded request in progress.
#[derive(Debug)]
struct Context {
    fork: Fork,
    origin: Origin,
    /// The client transaction of each branch (`None`: not sent).
    branches: Vec<Option<TransactionId>>,
    loop_key: Option<LoopKey>,
    deadline: Instant,
}

/// The proxy task's state.
#[derive(Debug)]
pub struct ProxyTask {
    inputs: mpsc::Receiver<ProxyInput>,
    commands: CommandSender,
    listeners: Vec<(Transport, SocketAddr)>,
    server_token: Bytes,
    contexts: HashMap<u64, Context>,
    next_context: u64,
    by_client: HashMap<TransactionId, (u64, usize)>,
    by_server: HashMap<TransactionId, u64>,
    loops: HashMap<LoopKey, u64>,
    /// Connections requests have arrived on and that have not closed, with their peer.
    live: HashMap<ConnectionId, SocketAddr>,
}

impl ProxyTask {
    pub fn new(
        inputs: mpsc::Receiver<ProxyInput>,
        commands: CommandSender,
        listeners: Vec<(Transport, SocketAddr)>,
        server_token: Bytes,
    ) -> ProxyTask {
        ProxyTask {
            inputs,
            commands,
            listeners,
            server_token,
            contexts: HashMap::new(),
            next_context: 1,
            by_client: HashMap::new(),
            by_server: HashMap::new(),
            loops: HashMap::new(),
            live: HashMap::new(),
        }
    }

    /// Runs until `shutdown` completes or every sender is gone.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                input = self.inputs.recv() => match input {
                    Some(input) => self.handle(input).await,
                    None => break,
                },
                _ = sweep.tick() => self.sweep(Instant::now()).await,
            }
        }
    }

    async fn handle(&mut self, input: ProxyInput) {
        match input {
            ProxyInput::Forward(forward) => self.forward(forward).await,
            ProxyInput::Response { tx, response } => {
                if let Some((id, branch)) = self.by_client.get(&tx).copied() {
                    let up = self
                        .contexts
                        .get_mut(&id)
                        .and_then(|c| c.fork.on_response(branch, response));
                    self.deliver(id, up).await;
                }
            }
            ProxyInput::Timeout { tx } => {
                if let Some((id, branch)) = self.by_client.get(&tx).copied() {
                    let up = self
                        .contexts
                        .get_mut(&id)
                        .and_then(|c| c.fork.on_timeout(branch));
                    self.deliver(id, up).await;
                }
            }
            ProxyInput::Cancel { invite } => {
                if let Some(id) = self.by_server.get(&invite).copied() {
                    let up = self
                        .contexts
                        .get_mut(&id)
                        .and_then(|c| c.fork.give_up(487, "Request Terminated"));
                    self.deliver(id, up).await;
                }
            }
            ProxyInput::ConnectionSeen { id, remote } => {
                self.live.insert(id, remote);
            }
            ProxyInput::ConnectionClosed { id } => {
                self.live.remove(&id);
            }
        }
    }

    async fn forward(&mut self, forward: Forward) {
        let Forward {
            origin,
            request,
            targets,
            record_route,
        } = forward;
        let loop_key = LoopKey::of(&request);
        if let (Origin::Server { tx }, Some(key)) = (&origin, &loop_key) {
            if self.loops.contains_key(key) && self.came_through_us(&request) {
                metrics::counter!(PROXY_LOOPS).increment(1);
                let response =
                    crate::context::response(&request, 482, "Loop Detected", &self.server_token);
                self.respond(*tx, response).await;
                return;
            }
        }
        if matches!(origin, Origin::Stateless) {
            for target in &targets {
                let copy = forward_copy(&request, target.uri.as_ref(), None);
                let _ = self.send(copy, target).await;
            }
            return;
        }
        let id = self.next_context;
        self.next_context += 1;
        let limit = match request.method() {
            Some(Method::Invite) => TIMER_C,
            _ => NON_INVITE_LIMIT,
        };
        let mut context = Context {
            fork: Fork::new(request, targets.len(), self.server_token.clone()),
            origin,
            branches: vec![None; targets.len()],
            loop_key,
            deadline: Instant::now() + limit,
        };
        if let Origin::Server { tx } = &context.origin {
            self.by_server.insert(*tx, id);
        }
        if let Some(key) = &context.loop_key {
            self.loops.insert(key.clone(), id);
        }
        let mut failures = Vec::new();
        for (branch, target) in targets.iter().enumerate() {
            let copy = forward_copy(
                context.fork.request(),
                target.uri.as_ref(),
                record_route.as_deref(),
            );
            match self.send(copy, target).await {
                Ok(tx) => {
                    metrics::counter!(PROXY_FORWARDED).increment(1);
                    context.branches[branch] = Some(tx);
                    self.by_client.insert(tx, (id, branch));
                }
                Err((code, reason)) => failures.push((branch, code, reason)),
            }
        }
        let mut up = None;
        for (branch, code, reason) in failures {
            up = up.or(context.fork.fail(branch, code, reason));
        }
        self.contexts.insert(id, context);
        self.deliver(id, up).await;
    }

    /// Starts the client transaction of one branch.
    async fn send(
        &self,
        request: Message,
        target: &Target,
    ) -> Result<TransactionId, (u16, &'static str)> {
        let flow = target
            .flow
            .filter(|f| self.live.get(&f.connection) == Some(&f.remote));
        let (destination, transport) = match (flow, target.destination) {
            (Some(flow), _) => (Destination::Connection(flow.connection), flow.transport),
            (None, Some(d)) => d,
            (None, None) => return Err((480, "Temporarily Unavailable (contact unreachable)")),
        };
        let Some(local) = self.listener(transport) else {
            return Err((
                480,
                "Temporarily Unavailable (no listener for the contact's transport)",
            ));
        };
        let (reply, started) = oneshot::channel();
        let command = Command::SendRequest {
            request,
            destination,
            local,
            reply,
        };
        if self.commands.send(command).await.is_err() {
            return Err((503, "Service Unavailable"));
        }
        match started.await {
            Ok(Ok(tx)) => Ok(tx),
            Ok(Err(EndpointError::TooManyTransactions)) => Err((503, "Service Unavailable")),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "request not forwarded");
                Err((500, "Server Internal Error (request cannot be forwarded)"))
            }
            Err(_) => Err((503, "Service Unavailable")),
        }
    }

    fn listener(&self, transport: Transport) -> Option<(Transport, SocketAddr)> {
        let find = |t: Transport| self.listeners.iter().find(|(l, _)| *l == t).map(|l| l.1);
        let addr = find(transport).or_else(|| match transport {
            // No TLS listener: name the TCP one; responses come back on the connection.
            Transport::Tls => find(Transport::Tcp),
            _ => None,
        })?;
        Some((transport, addr))
    }

    /// Whether one of the request's Vias names one of our listeners: it has been forwarded
    /// by us before (a spiral, or with an unchanged [`LoopKey`], a loop).
    fn came_through_us(&self, request: &Message) -> bool {
        request.vias().flatten().any(|via| {
            self.listeners.iter().any(|(_, addr)| {
                matches!(via.host, parley_sip::Host::Ip(ip) if ip == addr.ip())
                    && via.port.unwrap_or(5060) == addr.port()
            })
        })
    }

    /// Sends what the context produced upstream, and forgets the context once it is done.
    async fn deliver(&mut self, id: u64, up: Option<Upstream>) {
        let Some(context) = self.contexts.get_mut(&id) else {
            return;
        };
        match (up, &mut context.origin) {
            (None, _) | (Some(_), Origin::Stateless) => {}
            (Some(Upstream::Provisional(_)), Origin::Internal { .. }) => {}
            (Some(Upstream::Final(response)), Origin::Internal { reply }) => {
                let code = response.status().unwrap_or(500);
                // Only the first final matters; the sender is gone after it.
                let (closed, _) = oneshot::channel();
                let _ = std::mem::replace(reply, closed).send(code);
            }
            (
                Some(Upstream::Provisional(response) | Upstream::Final(response)),
                Origin::Server { tx },
            ) => {
                let tx = *tx;
                self.respond(tx, response).await;
            }
        }
        if self
            .contexts
            .get(&id)
            .is_some_and(|c| c.fork.is_finished() && c.fork.is_answered())
        {
            self.forget(id);
        }
    }

    async fn respond(&self, tx: TransactionId, response: Message) {
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

    fn forget(&mut self, id: u64) {
        let Some(context) = self.contexts.remove(&id) else {
            return;
        };
        for tx in context.branches.into_iter().flatten() {
            self.by_client.remove(&tx);
        }
        if let Origin::Server { tx } = context.origin {
            self.by_server.remove(&tx);
        }
        if let Some(key) = context.loop_key {
            if self.loops.get(&key) == Some(&id) {
                self.loops.remove(&key);
            }
        }
    }

    /// Contexts past their deadline answer `408` if they have not answered (Timer C for
    /// INVITE, §16.8) and are forgotten: late responses are then dropped.
    async fn sweep(&mut self, now: Instant) {
        let expired: Vec<u64> = self
            .contexts
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let up = self
                .contexts
                .get_mut(&id)
                .and_then(|c| c.fork.give_up(408, "Request Timeout"));
            self.deliver(id, up).await;
            self.forget(id);
        }
    }
}
