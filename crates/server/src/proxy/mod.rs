//! The stateful proxy (RFC 3261 §16): forwards requests to the registered contacts of our
//! users (parallel forking) or along a route set we are part of (loose routing), and the
//! responses back.
//!
//! One task, [`task::ProxyTask`], owns every forking context, keyed by the server transaction
//! of the request and by the client transactions of its branches; it is fed through one
//! channel ([`ProxyInput`]) by the request handlers (new requests, already routed) and by the
//! transaction user (responses, timeouts, CANCELs and connection events, in the order the
//! endpoint produced them), and talks to the endpoint through the driver's command channel.
//! It never blocks: lookups in the store happen before a request reaches it.
//!
//! - [`forward`]: the request and response edits (§16.4, §16.6, §16.7).
//! - [`fork`]: one response context (§16.7).
//! - [`select`]: the choice of the best final response (§16.7 step 6).
//! - [`next_hop`]: where a URI or a binding sends a request.
//! - [`stray`]: the responses forwarded without a transaction (a retransmitted `2xx` to an
//!   INVITE, §16.7 step 5).
//!
//! A CANCEL that matches a forwarded INVITE is answered `200` by the transaction user; the
//! proxy then cancels every pending branch and answers the INVITE `487` once they are all
//! done (§16.10). After a final response goes upstream, the INVITE's other pending branches
//! are cancelled too (§16.7 step 10), and so are they when Timer C fires (§16.8).
//!
//! Requests for other domains are forwarded when federation is on (`crate::inbound`): their
//! next hop is located by RFC 3263 ([`next_hop::Resolver`]), and a branch whose server fails
//! (transport error, timeout, `503`) is sent again to the next server DNS gave (RFC 3263
//! §4.3), in a new client transaction, before the failure counts.
//!
//! Not done yet: a CANCEL that matches no transaction is answered `481` rather than
//! forwarded statelessly (§16.10).

pub mod fork;
pub mod forward;
pub mod next_hop;
pub mod select;
pub mod stray;
pub mod task;

use parley_sip::{ConnectionId, Destination, Message, TransactionId, Transport, Uri};
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};

/// Inputs waiting for the proxy task. A full queue refuses new requests with `503` rather
/// than stall the driver.
pub const PROXY_QUEUE: usize = 8192;

/// Who gets the final response of a forwarded request.
#[derive(Debug)]
pub enum Origin {
    /// A request received in this server transaction: responses go upstream.
    Server { tx: TransactionId },
    /// A request of our own (the delivery of a stored message): the final status code goes to
    /// `reply`, and nothing else happens with it.
    Internal { reply: oneshot::Sender<u16> },
    /// An ACK to a 2xx (no transaction, RFC 3261 §17): sent once and forgotten.
    Stateless,
}

/// The connection a binding was made on (RFC 5626 calls it a flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub connection: ConnectionId,
    /// The peer's address on it, to tell it from a later connection that reuses the id (ids
    /// restart with the server process).
    pub remote: SocketAddr,
    pub transport: Transport,
}

/// One place to send a forwarded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The new Request-URI (a registered contact); `None` keeps the request's (loose routing).
    pub uri: Option<Uri>,
    /// The connection to prefer while it lives.
    pub flow: Option<Flow>,
    /// Where to send otherwise, with the transport named in our Via; `None` if the address
    /// could not be resolved (the branch then fails with `480`).
    pub destination: Option<(Destination, Transport)>,
    /// Where to send next, in order, when `destination` fails with a transport error, a
    /// timeout or a `503` (RFC 3263 §4.3): the further servers DNS gave.
    pub alternates: Vec<(Destination, Transport)>,
}

/// A request for the proxy to forward.
#[derive(Debug)]
pub struct Forward {
    pub origin: Origin,
    /// The request as it goes out: our Route removed, our credentials removed.
    pub request: Message,
    pub targets: Vec<Target>,
    /// Our Record-Route URI, for requests that create dialogs (§16.6 step 4).
    pub record_route: Option<String>,
}

/// What the proxy task is told.
#[derive(Debug)]
pub enum ProxyInput {
    Forward(Forward),
    /// A response in one of our client transactions.
    Response {
        tx: TransactionId,
        response: Message,
    },
    /// A client transaction got no final response (Timer B or F).
    Timeout {
        tx: TransactionId,
    },
    /// A CANCEL matched this INVITE server transaction (it has been answered `200`): the
    /// proxy cancels the branches of its request (§16.10).
    Cancel {
        invite: TransactionId,
    },
    /// A request arrived on this connection: it lives.
    ConnectionSeen {
        id: ConnectionId,
        remote: SocketAddr,
    },
    ConnectionClosed {
        id: ConnectionId,
    },
}

/// Sends to the proxy task.
#[derive(Debug, Clone)]
pub struct ProxyHandle(pub(crate) mpsc::Sender<ProxyInput>);

/// The proxy task has stopped (the server is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the proxy has stopped")]
pub struct ProxyStopped;

impl ProxyHandle {
    /// A new handle and the receiver the proxy task reads.
    pub fn channel() -> (ProxyHandle, mpsc::Receiver<ProxyInput>) {
        let (tx, rx) = mpsc::channel(PROXY_QUEUE);
        (ProxyHandle(tx), rx)
    }

    /// Hands a request over, waiting for room in the queue.
    pub async fn forward(&self, forward: Forward) -> Result<(), ProxyStopped> {
        self.0
            .send(ProxyInput::Forward(forward))
            .await
            .map_err(|_| ProxyStopped)
    }

    /// From the driver task: never waits. Returns false when the queue is full or closed.
    pub fn notify(&self, input: ProxyInput) -> bool {
        self.0.try_send(input).is_ok()
    }
}
