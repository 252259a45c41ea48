//! The proxy task: the one owner of the forking contexts and of the set of live
//! connections.
//!
//! A request's branches are started one after the other, each waiting for the driver to
//! return its client transaction id before the next input is read, so that no response can
//! be read before its transaction is known. The driver never waits for this task (the
//! transaction user only `try_send`s to it), so the wait cannot deadlock.
//!
//! A branch's target may name several servers (RFC 3263 gave them, in order): when the
//! request cannot be sent to one, or its client transaction times out or gets `503`, the
//! same request goes to the next one in a new client transaction (RFC 3263 §4.3), unless a
//! final response has gone upstream or the caller cancelled. Only the last server's
//! failure reaches the response context.
//!
//! Cancelling (RFC 3261 §16.7 step 10, §16.10, §16.8) is one command per branch to the
//! driver ([`Command::Cancel`]), which does not wait: the endpoint holds a CANCEL until the
//! branch has a provisional response and drops it if the final response comes first.

use super::fork::{Fork, Upstream};
use super::forward::forward_copy;
use super::{Forward, Origin, ProxyInput, Target};
use crate::metrics::{PROXY_FORWARDED, PROXY_LOOPS};
use bytes::Bytes;
use parley_net::{Command, CommandSender};
use parley_sip::transaction::IdBuildHasher;
use parley_sip::{
    ConnectionId, Destination, EndpointError, Message, Method, TransactionId, Transport,
};
use std::collections::hash_map::Entry;
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
/// How long a context lives on after its deadline, for its cancelled branches to end (their
/// INVITE client transactions end at most 64·T1 after the CANCEL).
const AFTER_DEADLINE: Duration = Duration::from_secs(64);
/// How long a CANCEL that arrived before its INVITE reached this task is remembered.
const EARLY_CANCEL_LIMIT: Duration = Duration::from_secs(64);

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
            from_tag: request.from_tag().ok()??.to_owned(),
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
    /// Where each branch goes, and which of its hops it is at (0: the flow or destination,
    /// `k`: alternate `k - 1`), for failing over (RFC 3263 §4.3).
    targets: Vec<Target>,
    attempts: Vec<usize>,
    record_route: Option<String>,
    loop_key: Option<LoopKey>,
    deadline: Instant,
    /// A final response has been sent in the server transaction: a later 2xx (another
    /// branch's answer to a forked INVITE) is forwarded statelessly, as that transaction has
    /// ended (§16.7 step 9).
    final_sent: bool,
    /// The deadline has passed once: the context answered (`408`), cancelled its branches,
    /// and is forgotten at the next deadline.
    expired: bool,
}

/// The proxy task's state.
#[derive(Debug)]
pub struct ProxyTask {
    inputs: mpsc::Receiver<ProxyInput>,
    commands: CommandSender,
    listeners: Vec<(Transport, SocketAddr)>,
    server_token: Bytes,
    // The tables keyed by numbers we assign hash them with a multiply (`IdBuildHasher`); the
    // loop table's keys come from the network and keep SipHash.
    contexts: HashMap<u64, Context, IdBuildHasher>,
    next_context: u64,
    by_client: HashMap<TransactionId, (u64, usize), IdBuildHasher>,
    by_server: HashMap<TransactionId, u64, IdBuildHasher>,
    loops: HashMap<LoopKey, u64>,
    /// Connections requests have arrived on and that have not closed, with their peer.
    live: HashMap<ConnectionId, SocketAddr>,
    /// INVITE server transactions cancelled before their request reached this task (the
    /// store lookup is still running), with when: the INVITE is then answered `487` without
    /// being forwarded.
    early_cancels: HashMap<TransactionId, Instant, IdBuildHasher>,
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
            contexts: HashMap::default(),
            next_context: 1,
            by_client: HashMap::default(),
            by_server: HashMap::default(),
            loops: HashMap::new(),
            live: HashMap::new(),
            early_cancels: HashMap::default(),
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
                    if response.status() == Some(503) && self.fail_over(id, branch, tx).await {
                        return;
                    }
                    let up = self
                        .contexts
                        .get_mut(&id)
                        .and_then(|c| c.fork.on_response(branch, response));
                    self.deliver(id, up).await;
                }
            }
            ProxyInput::Timeout { tx } => {
                if let Some((id, branch)) = self.by_client.get(&tx).copied() {
                    if self.fail_over(id, branch, tx).await {
                        return;
                    }
                    let up = self
                        .contexts
                        .get_mut(&id)
                        .and_then(|c| c.fork.on_timeout(branch));
                    self.deliver(id, up).await;
                }
            }
            ProxyInput::Cancel { invite } => match self.by_server.get(&invite).copied() {
                Some(id) => {
                    let up = self.contexts.get_mut(&id).and_then(|c| c.fork.cancel());
                    self.deliver(id, up).await;
                }
                None => {
                    self.early_cancels.insert(invite, Instant::now());
                }
            },
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
        if let Origin::Server { tx } = &origin {
            if self.early_cancels.remove(tx).is_some() {
                let response = crate::context::response(
                    &request,
                    487,
                    "Request Terminated",
                    &self.server_token,
                );
                self.respond(*tx, response).await;
                return;
            }
        }
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
                let _ = self.start_branch(&request, target, None, 0).await;
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
            attempts: vec![0; targets.len()],
            targets: Vec::new(),
            record_route,
            loop_key,
            deadline: Instant::now() + limit,
            final_sent: false,
            expired: false,
        };
        if let Origin::Server { tx } = &context.origin {
            self.by_server.insert(*tx, id);
        }
        if let Some(key) = &context.loop_key {
            self.loops.insert(key.clone(), id);
        }
        let mut failures = Vec::new();
        for (branch, target) in targets.iter().enumerate() {
            let (attempt, result) = self
                .start_branch(
                    context.fork.request(),
                    target,
                    context.record_route.as_deref(),
                    0,
                )
                .await;
            context.attempts[branch] = attempt;
            match result {
                Ok(tx) => {
                    metrics::counter!(PROXY_FORWARDED).increment(1);
                    context.branches[branch] = Some(tx);
                    self.by_client.insert(tx, (id, branch));
                }
                Err((code, reason)) => failures.push((branch, code, reason)),
            }
        }
        context.targets = targets;
        let mut up = None;
        for (branch, code, reason) in failures {
            up = up.or(context.fork.fail(branch, code, reason));
        }
        self.contexts.insert(id, context);
        self.deliver(id, up).await;
    }

    /// Starts the client transaction of one branch at hop `attempt` of its target (0: the
    /// flow or the destination, `k`: alternate `k - 1`), moving on to the next hop while the
    /// request cannot be sent. Returns the hop reached, and the transaction or the last
    /// failure.
    async fn start_branch(
        &self,
        request: &Message,
        target: &Target,
        record_route: Option<&str>,
        mut attempt: usize,
    ) -> (usize, Result<TransactionId, (u16, &'static str)>) {
        loop {
            let copy = forward_copy(request, target.uri.as_ref(), record_route);
            let result = match attempt {
                0 => self.send(copy, target).await,
                n => match target.alternates.get(n - 1) {
                    Some(hop) => self.send_to(copy, *hop).await,
                    None => Err((480, "Temporarily Unavailable (next hop unreachable)")),
                },
            };
            match result {
                Err(_) if attempt < target.alternates.len() => attempt += 1,
                result => return (attempt, result),
            }
        }
    }

    /// After the client transaction `failed` of a branch timed out or got `503`: sends the
    /// request to the branch's next hop (RFC 3263 §4.3). False when there is none, when the
    /// context has answered or been cancelled, or when no further hop could be sent to.
    async fn fail_over(&mut self, id: u64, branch: usize, failed: TransactionId) -> bool {
        let Some(context) = self.contexts.get(&id) else {
            return false;
        };
        if context.fork.is_answered() || context.fork.is_cancelled() {
            return false;
        }
        let (Some(target), Some(&attempt)) =
            (context.targets.get(branch), context.attempts.get(branch))
        else {
            return false;
        };
        if attempt >= target.alternates.len() {
            return false;
        }
        let (request, target) = (context.fork.request().clone(), target.clone());
        let record_route = context.record_route.clone();
        let (reached, result) = self
            .start_branch(&request, &target, record_route.as_deref(), attempt + 1)
            .await;
        let Ok(tx) = result else {
            return false;
        };
        tracing::debug!(branch, hop = reached, "failing over to the next server");
        self.by_client.remove(&failed);
        self.by_client.insert(tx, (id, branch));
        if let Some(context) = self.contexts.get_mut(&id) {
            context.attempts[branch] = reached;
            context.branches[branch] = Some(tx);
        }
        true
    }

    /// Starts the client transaction of one branch on its live flow, else to its destination.
    async fn send(
        &self,
        request: Message,
        target: &Target,
    ) -> Result<TransactionId, (u16, &'static str)> {
        let flow = target
            .flow
            .filter(|f| self.live.get(&f.connection) == Some(&f.remote));
        let hop = match (flow, target.destination) {
            (Some(flow), _) => (Destination::Connection(flow.connection), flow.transport),
            (None, Some(d)) => d,
            (None, None) => return Err((480, "Temporarily Unavailable (contact unreachable)")),
        };
        self.send_to(request, hop).await
    }

    /// Starts a client transaction to one hop.
    async fn send_to(
        &self,
        request: Message,
        (destination, transport): (Destination, Transport),
    ) -> Result<TransactionId, (u16, &'static str)> {
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

    /// Sends what the context produced upstream, cancels the branches the context says to
    /// cancel, and forgets the context once it is done.
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
            (Some(Upstream::Provisional(response)), Origin::Server { tx }) => {
                let tx = *tx;
                self.respond(tx, response).await;
            }
            (Some(Upstream::Final(response)), Origin::Server { tx }) => {
                let tx = *tx;
                if std::mem::replace(&mut context.final_sent, true) {
                    // Another branch's 2xx: the server transaction ended with the first.
                    self.forward_stateless(response).await;
                } else {
                    self.respond(tx, response).await;
                }
            }
        }
        self.cancel_branches(id).await;
        if self
            .contexts
            .get(&id)
            .is_some_and(|c| c.fork.is_finished() && c.fork.is_answered())
        {
            self.forget(id);
        }
    }

    /// Sends a CANCEL on every branch the context says to cancel (§16.7 step 10, §16.10).
    async fn cancel_branches(&mut self, id: u64) {
        let Some(context) = self.contexts.get_mut(&id) else {
            return;
        };
        let txs: Vec<TransactionId> = context
            .fork
            .take_cancellable()
            .into_iter()
            .filter_map(|branch| context.branches.get(branch).copied().flatten())
            .collect();
        for invite in txs {
            // Only fails when the driver has stopped.
            let _ = self.commands.send(Command::Cancel { invite }).await;
        }
    }

    /// A response whose server transaction has ended, sent to the next Via (§16.7 step 9).
    async fn forward_stateless(&self, response: Message) {
        let class = response.status().map_or("6xx", crate::metrics::class_label);
        if self
            .commands
            .send(Command::ForwardResponse { response })
            .await
            .is_ok()
        {
            metrics::counter!(crate::metrics::SIP_RESPONSES_SENT, "class" => class).increment(1);
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
        // One lookup (the key hashes three strings with SipHash).
        if let Some(key) = context.loop_key {
            if let Entry::Occupied(entry) = self.loops.entry(key) {
                if *entry.get() == id {
                    entry.remove();
                }
            }
        }
    }

    /// Contexts past their deadline answer `408` if they have not answered (Timer C for
    /// INVITE, §16.8) and cancel their pending branches; past it a second time, they are
    /// forgotten: late responses are then dropped. Early CANCELs are forgotten after a while.
    async fn sweep(&mut self, now: Instant) {
        self.early_cancels
            .retain(|_, at| now.saturating_duration_since(*at) < EARLY_CANCEL_LIMIT);
        let due: Vec<u64> = self
            .contexts
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(context) = self.contexts.get_mut(&id) else {
                continue;
            };
            if context.expired {
                self.forget(id);
                continue;
            }
            context.expired = true;
            context.deadline = now + AFTER_DEADLINE;
            let up = context.fork.give_up(408, "Request Timeout");
            self.deliver(id, up).await;
        }
    }
}
