//! The driver task: the one owner of the [`Endpoint`], running the loop its module docs
//! describe (`handle_*` in, commands, then `poll_transmit`, `poll_event`, `poll_timeout`).

use crate::connections::ConnectionTable;
use crate::datagram::{self, UdpSockets};
use crate::listeners::{self, ListenerSet};
use crate::metric_names::{CONNECTIONS_REFUSED, TRANSMIT_DROPPED};
use crate::shutdown::{Shutdown, TaskToken};
use crate::stream::{Opening, Outbound, StreamTask, StreamTimeouts};
use crate::NetConfig;
use bytes::Bytes;
use parley_sip::{
    ConnectionId, Destination, Endpoint, EndpointConfig, EndpointError, Event, FramingError,
    Message, Peer, TransactionId, Transmit, Transport,
};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Input from streams and listeners waiting for the driver. When it is full, readers wait:
/// stream peers are slowed down by TCP. (The driver reads UDP sockets itself; datagrams
/// wait in the kernel's socket buffer, and are dropped there when it is full.)
const INBOUND_QUEUE: usize = 1024;
/// Commands from asynchronous services waiting for the driver.
const COMMAND_QUEUE: usize = 1024;
/// Commands applied in one turn of the loop at most, before the datagrams they produced are
/// sent and the other inputs get their turn.
const COMMAND_BATCH: usize = 64;
/// How long shutdown waits for the connection and listener tasks to finish.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// What the reader tasks hand the driver.
pub(crate) enum Inbound {
    /// One message framed on a stream.
    Message { peer: Peer, data: Bytes },
    /// A stream that cannot be framed any more; the driver answers and closes it.
    FramingError { peer: Peer, error: FramingError },
    /// A new connection from a listener, not yet admitted.
    Accepted {
        stream: TcpStream,
        remote: SocketAddr,
        local: SocketAddr,
        transport: Transport,
        tls: Option<TlsAcceptor>,
    },
    /// The peer closed its side of a connection (end of stream); the connection lingers a
    /// moment so that answers still in flight can be written.
    PeerFinished { id: ConnectionId },
    /// A connection's task has ended.
    Closed { id: ConnectionId },
}

/// The transaction user: the server's side of the endpoint (RFC 3261 §17 calls the layer
/// above the transactions the TU). The driver calls it for every event, on the driver task,
/// so it must not block; a service that needs to wait answers later through a
/// [`CommandSender`].
pub trait TransactionUser: Send + 'static {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>);

    /// Stream connection `id` has closed, or its peer has closed its side: requests can no
    /// longer go back over it. A registrar that keeps the connection a binding was made on
    /// (clients behind NAT are reachable no other way) uses it to fall back to the contact
    /// address. Called once per connection, on the driver task, after every message
    /// received on the connection has been handed over.
    fn connection_closed(&mut self, id: ConnectionId) {
        let _ = id;
    }
}

/// The endpoint's commands, lent to the transaction user while it handles an event.
#[derive(Debug)]
pub struct EndpointCommands<'a> {
    endpoint: &'a mut Endpoint,
    now: Instant,
}

impl<'a> EndpointCommands<'a> {
    /// Lends `endpoint` to a transaction user at `now`. The driver does this for every
    /// event; public for harnesses that drive a [`TransactionUser`] without sockets (the
    /// simulation tests).
    pub fn new(endpoint: &'a mut Endpoint, now: Instant) -> EndpointCommands<'a> {
        EndpointCommands { endpoint, now }
    }

    /// Sends a response in server transaction `tx` ([`Endpoint::respond`]).
    pub fn respond(&mut self, tx: TransactionId, response: Message) -> Result<(), EndpointError> {
        self.endpoint.respond(self.now, tx, response)
    }

    /// Starts a client transaction ([`Endpoint::send_request`]).
    pub fn send_request(
        &mut self,
        request: Message,
        destination: Destination,
        local: (Transport, SocketAddr),
    ) -> Result<TransactionId, EndpointError> {
        self.endpoint
            .send_request(self.now, request, destination, local)
    }

    /// Sends a response outside any transaction ([`Endpoint::respond_stateless`]).
    pub fn respond_stateless(&mut self, to: Peer, response: Message) -> Result<(), EndpointError> {
        self.endpoint.respond_stateless(self.now, to, response)
    }

    /// Cancels an INVITE client transaction ([`Endpoint::cancel`]).
    pub fn cancel(&mut self, invite: TransactionId) -> Result<TransactionId, EndpointError> {
        self.endpoint.cancel(self.now, invite)
    }

    /// Forwards a response statelessly per its top Via ([`Endpoint::forward_response`]).
    pub fn forward_response(&mut self, response: Message) -> Result<(), EndpointError> {
        self.endpoint.forward_response(self.now, response)
    }

    /// The INVITE server transaction a CANCEL matches ([`Endpoint::cancel_target`]).
    pub fn cancel_target(&self, cancel: &Message) -> Option<TransactionId> {
        self.endpoint.cancel_target(cancel)
    }

    /// A fresh To/From tag from the endpoint's generator.
    pub fn new_tag(&mut self) -> String {
        self.endpoint.new_tag()
    }
}

/// A command from a task other than the driver.
#[derive(Debug)]
pub enum Command {
    Respond {
        tx: TransactionId,
        response: Message,
    },
    SendRequest {
        request: Message,
        destination: Destination,
        local: (Transport, SocketAddr),
        reply: oneshot::Sender<Result<TransactionId, EndpointError>>,
    },
    /// Cancels an INVITE client transaction ([`Endpoint::cancel`]); a failure (the INVITE
    /// has its final response already, say) is only logged.
    Cancel { invite: TransactionId },
    /// Forwards a response statelessly per its top Via ([`Endpoint::forward_response`]); a
    /// failure is only logged.
    ForwardResponse { response: Message },
}

/// Applies `command` to `endpoint` at `now`, as the driver does: a failure is only logged
/// (a `SendRequest` failure goes back to its sender). Public for harnesses that drive a
/// [`TransactionUser`] without sockets (the simulation tests); the driver uses it too.
pub fn apply_command(endpoint: &mut Endpoint, now: Instant, command: Command) {
    match command {
        Command::Respond { tx, response } => {
            if let Err(e) = endpoint.respond(now, tx, response) {
                tracing::debug!(tx = tx.0, error = %e, "response not sent");
            }
        }
        Command::SendRequest {
            request,
            destination,
            local,
            reply,
        } => {
            let _ = reply.send(endpoint.send_request(now, request, destination, local));
        }
        Command::Cancel { invite } => {
            if let Err(e) = endpoint.cancel(now, invite) {
                tracing::debug!(tx = invite.0, error = %e, "CANCEL not sent");
            }
        }
        Command::ForwardResponse { response } => {
            if let Err(e) = endpoint.forward_response(now, response) {
                tracing::debug!(error = %e, "response not forwarded");
            }
        }
    }
}

/// Sends commands to the driver from other tasks.
#[derive(Debug, Clone)]
pub struct CommandSender(mpsc::Sender<Command>);

/// The driver has stopped; the command was not applied.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the endpoint driver has stopped")]
pub struct DriverStopped;

impl CommandSender {
    /// A sender and its receiving end, for harnesses that drive a [`TransactionUser`]
    /// without sockets and apply the commands themselves with [`apply_command`].
    pub fn channel(capacity: usize) -> (CommandSender, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(capacity);
        (CommandSender(tx), rx)
    }

    pub async fn send(&self, command: Command) -> Result<(), DriverStopped> {
        self.0.send(command).await.map_err(|_| DriverStopped)
    }

    /// Sends without waiting, from any thread (a store's completion, say): the command back
    /// when the queue is full, so the caller can wait for room on a task instead.
    pub fn try_send(&self, command: Command) -> Result<(), CommandNotSent> {
        self.0.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(c) => CommandNotSent::Full(Box::new(c)),
            mpsc::error::TrySendError::Closed(_) => CommandNotSent::Stopped(DriverStopped),
        })
    }
}

/// Why [`CommandSender::try_send`] did not send.
#[derive(Debug)]
pub enum CommandNotSent {
    /// The queue is full; here is the command.
    Full(Box<Command>),
    Stopped(DriverStopped),
}

/// Runs an [`Endpoint`] over the bound listeners.
#[derive(Debug)]
pub struct EndpointDriver {
    listeners: ListenerSet,
    endpoint: Endpoint,
    config: NetConfig,
    commands: mpsc::Receiver<Command>,
    command_sender: mpsc::Sender<Command>,
}

impl EndpointDriver {
    pub fn new(
        listeners: ListenerSet,
        endpoint: EndpointConfig,
        config: NetConfig,
    ) -> EndpointDriver {
        let (command_sender, commands) = mpsc::channel(COMMAND_QUEUE);
        EndpointDriver {
            listeners,
            endpoint: Endpoint::new(endpoint),
            config,
            commands,
            command_sender,
        }
    }

    pub fn command_sender(&self) -> CommandSender {
        CommandSender(self.command_sender.clone())
    }

    /// Serves until `shutdown` completes, then tells every task to stop and waits (a bounded
    /// time) for them to finish.
    pub async fn run<T: TransactionUser>(self, mut tu: T, shutdown: impl Future<Output = ()>) {
        let EndpointDriver {
            listeners,
            endpoint,
            config,
            mut commands,
            command_sender,
        } = self;
        drop(command_sender);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        let (inbound_tx, mut inbound_rx) = mpsc::channel(INBOUND_QUEUE);
        let mut udp_in = datagram::UdpReceiver::new(&listeners.udp);
        let mut state = DriverState {
            limits: endpoint.config().limits,
            endpoint,
            udp: UdpSockets::new(&listeners.udp),
            connections: ConnectionTable::new(
                config.max_connections,
                config.max_connections_per_ip,
            ),
            inbound: inbound_tx.clone(),
            stop: stop_rx.clone(),
            done: done_tx.clone(),
            config,
        };
        for listener in listeners.streams {
            tokio::spawn(listeners::accept(
                listener,
                inbound_tx.clone(),
                Shutdown::new(stop_rx.clone()),
                TaskToken::new(done_tx.clone()),
            ));
        }
        drop((inbound_tx, done_tx, stop_rx));

        tokio::pin!(shutdown);
        // One timer, moved when the endpoint's next deadline changes, rather than a new
        // timer entry registered and removed on every turn of the loop.
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            let wake = state.endpoint.poll_timeout();
            if wake != armed {
                if let Some(at) = wake {
                    timer.as_mut().reset(tokio::time::Instant::from_std(at));
                }
                armed = wake;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = udp_in.recv() => {
                    for (peer, data) in udp_in.take() {
                        state.handle_datagram(peer, data);
                        state.drain(&mut tu);
                    }
                }
                Some(input) = inbound_rx.recv() => state.handle_inbound(input, &mut tu),
                Some(command) = commands.recv() => {
                    state.handle_command(command);
                    // Answers completed together (a store's group commit) leave together.
                    for _ in 1..COMMAND_BATCH {
                        let Ok(command) = commands.try_recv() else { break };
                        state.drain(&mut tu);
                        state.handle_command(command);
                    }
                }
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    state.endpoint.handle_timeout(Instant::now());
                }
                () = state.udp.writable(), if state.udp.has_backlog() => {}
            }
            state.drain(&mut tu);
            state.udp.flush();
        }

        tracing::info!("sip transport shutting down");
        let _ = stop_tx.send(true);
        drop(state);
        let drained = tokio::time::timeout(DRAIN_LIMIT, async {
            loop {
                tokio::select! {
                    // Tasks still report to the inbound queue while they close; keep it
                    // moving so none blocks.
                    Some(_) = inbound_rx.recv() => {}
                    done = done_rx.recv() => if done.is_none() { break },
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("some connections did not close in time");
        }
    }
}

/// Everything the driver owns besides the queues it reads.
struct DriverState {
    endpoint: Endpoint,
    udp: UdpSockets,
    connections: ConnectionTable,
    /// Handed to the tasks of new connections.
    inbound: mpsc::Sender<Inbound>,
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
    config: NetConfig,
    limits: parley_sip::Limits,
}

impl DriverState {
    fn handle_datagram(&mut self, peer: Peer, data: Bytes) {
        self.udp.note_received(peer.remote, peer.local);
        self.endpoint.handle_message(Instant::now(), peer, data);
    }

    fn handle_inbound<T: TransactionUser>(&mut self, input: Inbound, tu: &mut T) {
        let now = Instant::now();
        match input {
            Inbound::Message { peer, data } => self.endpoint.handle_message(now, peer, data),
            Inbound::FramingError { peer, error } => {
                self.endpoint
                    .handle_framing_error(now, peer, error.error, error.partial);
                // The answer goes out before the close that follows it in the queue.
                self.flush_transmits();
                if let Some(id) = peer.connection {
                    if let Some(entry) = self.connections.get(id) {
                        let _ = entry.outbound.try_send(Outbound::Close);
                    }
                }
            }
            Inbound::Accepted {
                stream,
                remote,
                local,
                transport,
                tls,
            } => self.admit(stream, remote, local, transport, tls),
            Inbound::PeerFinished { id } => {
                if self.connections.mark_finished(id) {
                    tu.connection_closed(id);
                }
            }
            Inbound::Closed { id } => {
                if self.connections.remove(id).is_some_and(|e| !e.finished) {
                    tu.connection_closed(id);
                }
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        apply_command(&mut self.endpoint, Instant::now(), command);
    }

    /// Transmits, then events to the transaction user (whose commands may queue more
    /// transmits and events), until both queues are empty.
    fn drain<T: TransactionUser>(&mut self, tu: &mut T) {
        loop {
            self.flush_transmits();
            let Some(event) = self.endpoint.poll_event() else {
                break;
            };
            let mut commands = EndpointCommands {
                endpoint: &mut self.endpoint,
                now: Instant::now(),
            };
            tu.handle_event(event, &mut commands);
        }
    }

    fn flush_transmits(&mut self) {
        while let Some(transmit) = self.endpoint.poll_transmit() {
            self.transmit(transmit);
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        let Transmit {
            destination,
            fallback,
            data,
        } = transmit;
        let result = match self.send(destination, data.clone()) {
            Err(SendFailure::ConnectionGone) => match fallback {
                // RFC 3261 §18.2.2: the connection is gone; open one to the sent-by.
                Some(fallback) => self.send(fallback, data),
                None => Err(SendFailure::ConnectionGone),
            },
            other => other,
        };
        if let Err(failure) = result {
            tracing::debug!(?destination, reason = failure.label(), "message not sent");
            metrics::counter!(TRANSMIT_DROPPED, "reason" => failure.label()).increment(1);
        }
    }

    fn send(&mut self, destination: Destination, data: Bytes) -> Result<(), SendFailure> {
        match destination {
            Destination::Connection(id) => self.send_on(id, data),
            Destination::Address {
                transport: Transport::Udp,
                addr,
            } => self.udp.send(addr, data).map_err(SendFailure::Udp),
            Destination::Address {
                transport: transport @ (Transport::Tcp | Transport::Tls),
                addr,
            } => {
                let id = match self.connections.find(transport, addr) {
                    Some(id) => id,
                    None => self.connect(transport, addr)?,
                };
                self.send_on(id, data)
            }
            Destination::Address {
                transport: Transport::Ws | Transport::Wss,
                ..
            } => Err(SendFailure::UnsupportedTransport),
        }
    }

    fn send_on(&mut self, id: ConnectionId, data: Bytes) -> Result<(), SendFailure> {
        let entry = self
            .connections
            .get(id)
            .ok_or(SendFailure::ConnectionGone)?;
        match entry.outbound.try_send(Outbound::Data(data)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SendFailure::QueueFull),
            Err(TrySendError::Closed(_)) => Err(SendFailure::ConnectionGone),
        }
    }

    fn admit(
        &mut self,
        stream: TcpStream,
        remote: SocketAddr,
        local: SocketAddr,
        transport: Transport,
        tls: Option<TlsAcceptor>,
    ) {
        match self.connections.admit(transport, remote) {
            Ok((id, outbound)) => {
                let task = self.stream_task(id, transport, remote, local, outbound);
                tokio::spawn(task.run(Opening::Accepted { stream, tls }));
            }
            Err(refusal) => {
                tracing::debug!(%remote, reason = refusal.label(), "connection refused");
                metrics::counter!(CONNECTIONS_REFUSED, "reason" => refusal.label()).increment(1);
                drop(stream);
            }
        }
    }

    /// Opens a connection to `remote`; messages queue on it while it connects.
    fn connect(
        &mut self,
        transport: Transport,
        remote: SocketAddr,
    ) -> Result<ConnectionId, SendFailure> {
        let tls = match transport {
            Transport::Tls => {
                let config = self
                    .config
                    .tls_client
                    .clone()
                    .ok_or(SendFailure::NoTlsClient)?;
                let name = ServerName::IpAddress(remote.ip().into());
                Some((TlsConnector::from(config), name))
            }
            _ => None,
        };
        let (id, outbound) = self
            .connections
            .admit(transport, remote)
            .map_err(|_| SendFailure::ConnectionLimit)?;
        let local = match remote {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let task = self.stream_task(id, transport, remote, local, outbound);
        tokio::spawn(task.run(Opening::Connect { tls }));
        Ok(id)
    }

    fn stream_task(
        &self,
        id: ConnectionId,
        transport: Transport,
        remote: SocketAddr,
        local: SocketAddr,
        outbound: mpsc::Receiver<Outbound>,
    ) -> StreamTask {
        StreamTask {
            id,
            transport,
            remote,
            local,
            inbound: self.inbound.clone(),
            outbound,
            limits: self.limits,
            timeouts: StreamTimeouts {
                idle: self.config.idle_timeout,
                handshake: self.config.handshake_timeout,
                write: self.config.write_timeout,
            },
            shutdown: Shutdown::new(self.stop.clone()),
            token: TaskToken::new(self.done.clone()),
        }
    }
}

/// Why a message was not sent; the label of the drop counter.
#[derive(Debug, Clone, Copy)]
enum SendFailure {
    ConnectionGone,
    QueueFull,
    ConnectionLimit,
    NoTlsClient,
    UnsupportedTransport,
    Udp(&'static str),
}

impl SendFailure {
    fn label(self) -> &'static str {
        match self {
            SendFailure::ConnectionGone => "connection_gone",
            SendFailure::QueueFull => "connection_queue_full",
            SendFailure::ConnectionLimit => "connection_limit",
            SendFailure::NoTlsClient => "no_tls_client_config",
            SendFailure::UnsupportedTransport => "unsupported_transport",
            SendFailure::Udp(label) => label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_harness_applies_commands_from_its_own_channel() {
        let (sender, mut commands) = CommandSender::channel(4);
        let mut endpoint = Endpoint::new(EndpointConfig::default());
        let request = Message::parse(
            Bytes::from_static(
                b"OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nMax-Forwards: 70\r\n\
                  From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>\r\n\
                  Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            ),
            &parley_sip::Limits::default(),
        )
        .map_err(|r| r.error)
        .unwrap_or_else(|e| panic!("{e}"));
        let local: SocketAddr = ([192, 0, 2, 1], 5060).into();
        let (reply, answer) = oneshot::channel();
        let command = Command::SendRequest {
            request,
            destination: Destination::Address {
                transport: Transport::Udp,
                addr: ([192, 0, 2, 2], 5060).into(),
            },
            local: (Transport::Udp, local),
            reply,
        };
        assert!(sender.send(command).await.is_ok());
        let Some(command) = commands.recv().await else {
            panic!("no command")
        };
        apply_command(&mut endpoint, Instant::now(), command);
        assert!(matches!(answer.await, Ok(Ok(_))));
        assert!(endpoint.poll_transmit().is_some());
        // The lent commands answer to the same endpoint.
        let mut lent = EndpointCommands::new(&mut endpoint, Instant::now());
        assert!(!lent.new_tag().is_empty());
    }
}
