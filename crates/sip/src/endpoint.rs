//! The SIP endpoint: parsing, validation and the transaction layer behind one sans-IO API.
//!
//! # Run-loop contract
//! `parley-net` owns an [`Endpoint`] and loops:
//! 1. Inputs: [`Endpoint::handle_message`] for every received datagram or framed stream
//!    message, [`Endpoint::handle_framing_error`] when a stream cannot be framed any more, and
//!    [`Endpoint::handle_timeout`] when the instant from [`Endpoint::poll_timeout`] has passed.
//! 2. Commands from the transaction user (the server's services): [`Endpoint::respond`] and
//!    [`Endpoint::send_request`].
//! 3. Outputs, drained after every input or command, in this order: [`Endpoint::poll_transmit`]
//!    until `None` (bytes to put on the wire), [`Endpoint::poll_event`] until `None` (requests,
//!    responses and timeouts for the transaction user), then [`Endpoint::poll_timeout`] (the
//!    next instant to call `handle_timeout`).
//!
//! The endpoint never reads the clock: every input carries `now`.

use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::limits::Limits;
use crate::message::Message;
use crate::response::{response_from_headers, response_target, stamp_received, ResponseTarget};
use crate::transport::{Destination, Peer, Transmit, Transport};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The transaction timers' base values (RFC 3261 §17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; 500 ms by default.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses; 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network; 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// How an endpoint is set up.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub limits: Limits,
    pub timers: TimerConfig,
    /// Seeds branch and tag generation; `parley-net` passes real randomness.
    pub seed: u64,
    /// The `Server` / `User-Agent` product token added to what the endpoint generates.
    pub product: Option<String>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            limits: Limits::default(),
            timers: TimerConfig::default(),
            seed: 0x5eed,
            product: None,
        }
    }
}

/// Identifies a transaction within one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// What the endpoint tells the transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new, valid request. `tx` is `None` for an ACK to a 2xx (it has no transaction,
    /// RFC 3261 §17). Answer with [`Endpoint::respond`].
    Request {
        tx: Option<TransactionId>,
        request: Message,
        from: Peer,
    },
    /// A response to a request sent with [`Endpoint::send_request`].
    Response {
        tx: TransactionId,
        response: Message,
        from: Peer,
    },
    /// A client transaction got no final response in time (Timer B or F; RFC 3261 §8.1.3.1:
    /// treat as `408`), or a server transaction's response was never acknowledged (Timer H).
    Timeout { tx: TransactionId },
    /// Input that could not be used. When it was a request that could be answered, the
    /// endpoint has already queued the error response (`answered`).
    Rejected {
        from: Peer,
        error: ParseError,
        answered: bool,
    },
    /// A response that matched no transaction and was dropped (RFC 3261 §17.1.3).
    StrayResponse { from: Peer },
}

/// Errors in the transaction user's use of the endpoint (bugs, not network faults).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("no such transaction (it has terminated)")]
    UnknownTransaction,
    #[error("the message is not a response")]
    NotAResponse,
    #[error("the message is not a request")]
    NotARequest,
}

/// The sans-IO SIP endpoint.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: u64,
    next_tx: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Requests awaiting a response from the transaction user, with where they came from.
    server: std::collections::HashMap<TransactionId, (Peer, Message)>,
}

impl Endpoint {
    pub fn new(config: EndpointConfig) -> Endpoint {
        Endpoint {
            rng: config.seed | 1,
            config,
            next_tx: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            server: std::collections::HashMap::new(),
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// One received datagram, or one message framed by [`crate::StreamFramer`].
    pub fn handle_message(&mut self, now: Instant, from: Peer, data: Bytes) {
        let _ = now;
        let mut msg = match Message::parse(data, &self.config.limits) {
            Ok(m) => m,
            Err(rejected) => {
                let answered = match &rejected.request_headers {
                    Some(h) => self.answer_malformed(h, &from, &rejected.error),
                    None => false,
                };
                self.events.push_back(Event::Rejected {
                    from,
                    error: rejected.error,
                    answered,
                });
                return;
            }
        };
        if let Err(error) = msg.validate() {
            let answered =
                msg.is_request() && self.answer_malformed(&msg.headers.clone(), &from, &error);
            self.events.push_back(Event::Rejected {
                from,
                error,
                answered,
            });
            return;
        }
        if !msg.is_request() {
            self.events.push_back(Event::StrayResponse { from });
            return;
        }
        stamp_received(&mut msg, from.remote);
        if msg.method() == Some(&crate::Method::Ack) {
            self.events.push_back(Event::Request {
                tx: None,
                request: msg,
                from,
            });
            return;
        }
        let tx = self.new_tx();
        self.server.insert(tx, (from, msg.clone()));
        self.events.push_back(Event::Request {
            tx: Some(tx),
            request: msg,
            from,
        });
    }

    /// A stream connection could not be framed any more; `partial` is what had arrived. The
    /// endpoint answers it if it can; `parley-net` then closes the connection.
    pub fn handle_framing_error(
        &mut self,
        now: Instant,
        from: Peer,
        error: ParseError,
        partial: Bytes,
    ) {
        let _ = now;
        let headers = Message::parse(partial, &self.config.limits)
            .map(|m| m.is_request().then_some(m.headers))
            .unwrap_or_else(|r| r.request_headers);
        let answered = headers.is_some_and(|h| self.answer_malformed(&h, &from, &error));
        self.events.push_back(Event::Rejected {
            from,
            error,
            answered,
        });
    }

    /// Timers due at `now` fire.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// Sends a response in server transaction `tx`. A final response completes it.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: Message,
    ) -> Result<(), EndpointError> {
        let _ = now;
        let code = response.status().ok_or(EndpointError::NotAResponse)?;
        let (from, _) = self
            .server
            .get(&tx)
            .ok_or(EndpointError::UnknownTransaction)?;
        let from = *from;
        if code >= 200 {
            self.server.remove(&tx);
        }
        let data = response.to_bytes();
        if let Some(t) = response_destination(&response, &from) {
            self.transmits.push_back(Transmit {
                destination: t.0,
                fallback: t.1,
                data,
            });
        }
        Ok(())
    }

    /// Starts a client transaction for `request` towards `destination`. The endpoint adds the
    /// top Via (with a fresh branch) for `local`, the address it sends from.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut request: Message,
        destination: Destination,
        local: (Transport, SocketAddr),
    ) -> Result<TransactionId, EndpointError> {
        let _ = now;
        if !request.is_request() {
            return Err(EndpointError::NotARequest);
        }
        let branch = self.new_branch();
        let via = format!("SIP/2.0/{} {};branch={branch};rport", local.0, local.1);
        request
            .headers
            .push_front(HeaderName::Via, Bytes::from(via));
        let tx = self.new_tx();
        self.transmits.push_back(Transmit {
            destination,
            fallback: None,
            data: request.to_bytes(),
        });
        Ok(tx)
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next instant at which [`Endpoint::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// A fresh To/From tag.
    pub fn new_tag(&mut self) -> String {
        format!("{:x}", self.next_random())
    }

    fn new_branch(&mut self) -> String {
        format!(
            "{}{:x}",
            crate::header::via::MAGIC_COOKIE,
            self.next_random()
        )
    }

    fn new_tx(&mut self) -> TransactionId {
        let id = TransactionId(self.next_tx);
        self.next_tx += 1;
        id
    }

    /// splitmix64: branches and tags need uniqueness, not secrecy; the seed comes from the OS.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Queues the stateless error answer to a request that failed to parse or validate.
    fn answer_malformed(
        &mut self,
        headers: &crate::Headers,
        from: &Peer,
        error: &ParseError,
    ) -> bool {
        if headers.get(&HeaderName::Via).is_none() {
            return false;
        }
        let tag = self.new_tag();
        let response = response_from_headers(
            headers,
            error.status_code(),
            &error.reason_phrase(),
            Some(&tag),
        );
        match response_destination(&response, from) {
            Some((destination, fallback)) => {
                self.transmits.push_back(Transmit {
                    destination,
                    fallback,
                    data: response.to_bytes(),
                });
                true
            }
            None => false,
        }
    }
}

/// Where a response goes: on the request's connection for streams (falling back to the
/// sent-by), per Via with `received`/`rport` for UDP (RFC 3261 §18.2.2, RFC 3581 §4).
fn response_destination(
    response: &Message,
    from: &Peer,
) -> Option<(Destination, Option<Destination>)> {
    if let Some(conn) = from.connection {
        return Some((
            Destination::Connection(conn),
            Some(Destination::Address {
                transport: from.transport,
                addr: from.remote,
            }),
        ));
    }
    // A Via we cannot parse still gets its answer back to the source (RFC 3581 behaviour).
    let target = response.top_via().map(|v| response_target(&v));
    let addr = match target {
        Ok(ResponseTarget::Datagram(a)) => a,
        Ok(ResponseTarget::SameConnection) | Ok(ResponseTarget::Resolve { .. }) | Err(_) => {
            from.remote
        }
    };
    Some((
        Destination::Address {
            transport: from.transport,
            addr,
        },
        None,
    ))
}
