//! The SIP endpoint: parsing, validation and the transaction layer behind one sans-IO API.
//!
//! # Run-loop contract
//! `parley-net` owns an [`Endpoint`] and loops:
//! 1. Inputs: [`Endpoint::handle_message`] for every received datagram or framed stream
//!    message, [`Endpoint::handle_framing_error`] when a stream cannot be framed any more, and
//!    [`Endpoint::handle_timeout`] when the instant from [`Endpoint::poll_timeout`] has passed.
//! 2. Commands from the transaction user (the server's services): [`Endpoint::respond`],
//!    [`Endpoint::send_request`], [`Endpoint::cancel`], [`Endpoint::respond_stateless`] and
//!    [`Endpoint::forward_response`].
//! 3. Outputs, drained after every input or command, in this order: [`Endpoint::poll_transmit`]
//!    until `None` (bytes to put on the wire), [`Endpoint::poll_event`] until `None` (requests,
//!    responses and timeouts for the transaction user), then [`Endpoint::poll_timeout`] (the
//!    next instant to call `handle_timeout`).
//! 4. Getters, at any time: [`Endpoint::config`], [`Endpoint::cancel_target`],
//!    [`Endpoint::transaction_count`], [`Endpoint::transaction_state`].
//!
//! The endpoint never reads the clock: every input carries `now`.
//!
//! # Transactions
//! Every request received (except ACK) creates a server transaction and every request sent
//! (except ACK) a client transaction, as RFC 3261 §17 describes; see [`crate::transaction`]
//! for the state machines. Retransmissions over UDP, their absorption, the ACK of non-2xx
//! final responses to INVITE and the timeouts all happen here; the transaction user sees each
//! request and each response once.
//!
//! # CANCEL
//! [`Endpoint::cancel`] builds the CANCEL of an INVITE client transaction (RFC 3261 §9.1) and
//! starts its own non-INVITE client transaction to the INVITE's destination. A CANCEL asked
//! for before any provisional response is held and sent when the first one arrives; if the
//! final response comes first, the CANCEL is dropped unsent ([`Event::CancelDropped`]). Once a
//! CANCEL is sent, the INVITE waits at most 64·T1 more for its final response (Timer B) and
//! then ends with [`Event::Timeout`]. The two transactions complete independently: the TU
//! sees the response to the CANCEL (usually `200`) and the INVITE's final (usually `487`).
//!
//! # Responses without a transaction
//! A response that matches no client transaction is handed to the TU as
//! [`Event::StrayResponse`]. A proxy forwards the ones it must (a retransmitted `2xx` to an
//! INVITE, RFC 3261 §16.7 step 5, §13.2.2.4) with [`Endpoint::forward_response`], after
//! removing its own Via.

use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::limits::Limits;
use crate::message::Message;
use crate::method::Method;
use crate::response::{response_from_headers, stamp_for_transaction, stamp_received};
use crate::transaction::client::{ClientTransaction, InviteClientState, Outgoing};
use crate::transaction::key::{ClientKey, ServerKey};
use crate::transaction::server::ServerTransaction;
use crate::transaction::{
    datagram_destination, response_destination, via_destination, InviteServerState, Output, Status,
    Transaction, TransactionState, TransactionTable,
};
use crate::transport::{Destination, Peer, Transport};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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
    /// The most transactions (client and server) alive at once; 100,000 by default. At the
    /// limit, transactions that only wait to absorb retransmissions (Timer J, I, K, D) are
    /// dropped, earliest deadline first, to make room; when none is, a new request is
    /// answered `503 Service Unavailable` with `Retry-After` without creating a transaction
    /// ([`Event::Overloaded`]) and [`Endpoint::send_request`] fails with
    /// [`EndpointError::TooManyTransactions`].
    pub max_transactions: usize,
    /// A request for a UDP destination that prints larger than this goes over TCP instead,
    /// with TCP in its Via (RFC 3261 §18.1.1: within 200 bytes of a 1500-byte MTU, so 1300 by
    /// default). `None` keeps such requests on UDP.
    pub udp_max_request_size: Option<usize>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            limits: Limits::default(),
            timers: TimerConfig::default(),
            seed: 0x5eed,
            product: None,
            max_transactions: 100_000,
            udp_max_request_size: Some(1300),
        }
    }
}

/// Identifies a transaction within one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// What the endpoint tells the transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new, valid request, delivered once however often it is retransmitted. `tx` is `None`
    /// for an ACK that matches no transaction: the ACK to a 2xx (it has no transaction,
    /// RFC 3261 §17). Answer with [`Endpoint::respond`].
    Request {
        tx: Option<TransactionId>,
        request: Message,
        from: Peer,
    },
    /// A response to a request sent with [`Endpoint::send_request`]: every provisional
    /// response (a byte-identical repeat is delivered once) and the final response once.
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
    /// A valid response that matched no client transaction (RFC 3261 §17.1.3, §18.1.2): for
    /// instance a retransmitted 2xx to an INVITE whose transaction has ended. The endpoint
    /// does nothing more with it; a proxy may forward it ([`Endpoint::forward_response`]).
    StrayResponse { from: Peer, response: Message },
    /// The CANCEL `tx` that [`Endpoint::cancel`] held until INVITE `invite` had a provisional
    /// response was never sent: the INVITE got its final response or timed out first (its
    /// [`Event::Response`] or [`Event::Timeout`] comes just before), and a CANCEL would have
    /// been a no-op (RFC 3261 §9.1). Transaction `tx` is gone.
    CancelDropped {
        tx: TransactionId,
        invite: TransactionId,
    },
    /// A new request arrived while [`EndpointConfig::max_transactions`] were alive; the
    /// endpoint answered it `503 Service Unavailable` with `Retry-After` and kept no state.
    Overloaded { from: Peer },
}

/// Errors in the transaction user's use of the endpoint: bugs, limits, or commands that the
/// transactions' progress has overtaken (a CANCEL of an INVITE answered meanwhile). Nothing was
/// sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("no such transaction (it has terminated)")]
    UnknownTransaction,
    #[error("the message is not a response")]
    NotAResponse,
    #[error("the message is not a request")]
    NotARequest,
    /// The server transaction has already sent a final response; RFC 3261 §17.2.2 discards
    /// any other (nothing was sent).
    #[error("the transaction has already sent its final response")]
    AlreadyAnswered,
    /// [`EndpointConfig::max_transactions`] transactions are alive.
    #[error("too many transactions")]
    TooManyTransactions,
    /// The request (with the endpoint's Via added) fails [`Message::validate`].
    #[error("invalid request: {0}")]
    InvalidRequest(ParseError),
    /// [`Endpoint::cancel`] names a transaction that is not an INVITE client transaction
    /// (RFC 3261 §9.1: only an INVITE is cancelled).
    #[error("the transaction is not an INVITE client transaction")]
    NotAnInvite,
    /// [`Endpoint::cancel`]: the INVITE has its final response, so a CANCEL would be a no-op
    /// (RFC 3261 §9.1); nothing was sent.
    #[error("the INVITE has already received its final response")]
    InviteAnswered,
    /// [`Endpoint::cancel`]: a CANCEL of this INVITE is already under way (held or sent).
    #[error("the INVITE is already being cancelled")]
    AlreadyCancelled,
    /// [`Endpoint::forward_response`]: the top Via names no address the endpoint can send to
    /// (a host name without `received`, which needs DNS, or an unknown transport).
    #[error("the top Via names no address to send to")]
    UnroutableVia,
}

/// The `Retry-After` of the `503` sent when the transaction table is full, in seconds.
const OVERLOAD_RETRY_AFTER: &str = "5";

/// The sans-IO SIP endpoint.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: u64,
    next_tx: u64,
    out: Output,
    table: TransactionTable,
    /// INVITE client transactions in "Calling" → the CANCEL held until their first
    /// provisional response (RFC 3261 §9.1).
    held_cancels: HashMap<TransactionId, TransactionId>,
}

impl Endpoint {
    /// An endpoint with no transactions.
    pub fn new(config: EndpointConfig) -> Endpoint {
        Endpoint {
            rng: config.seed | 1,
            table: TransactionTable::new(config.max_transactions),
            config,
            next_tx: 1,
            out: Output::default(),
            held_cancels: HashMap::new(),
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// How many transactions are alive (each is destroyed as it terminates).
    pub fn transaction_count(&self) -> usize {
        self.table.len()
    }

    /// The RFC 3261 state of transaction `tx`; `None` once it has terminated.
    pub fn transaction_state(&self, tx: TransactionId) -> Option<TransactionState> {
        self.table.get(tx).map(Transaction::state)
    }

    /// The INVITE server transaction a received CANCEL matches (RFC 3261 §9.2, matching as in
    /// §17.2.3), so that the TU can answer the CANCEL `200` and, if the INVITE has no final
    /// response yet ([`EndpointError::AlreadyAnswered`] otherwise), the INVITE `487`. `None`
    /// when there is none: answer the CANCEL `481`.
    pub fn cancel_target(&self, cancel: &Message) -> Option<TransactionId> {
        if cancel.method() != Some(&Method::Cancel) {
            return None;
        }
        let key = ServerKey::cancel_target(cancel).ok()?;
        let id = self.table.find_server(&key)?;
        match self.table.get(id)?.state() {
            TransactionState::InviteServer(_) => Some(id),
            _ => None,
        }
    }

    /// One received datagram, or one message framed by [`crate::StreamFramer`].
    pub fn handle_message(&mut self, now: Instant, from: Peer, data: Bytes) {
        let msg = match Message::parse(data.clone(), &self.config.limits) {
            Ok(m) => m,
            Err(rejected) => {
                let answered = match &rejected.request_headers {
                    Some(h) => self.answer_malformed(h, &from, &rejected.error),
                    None => false,
                };
                self.reject(from, rejected.error, answered);
                return;
            }
        };
        if let Err(error) = msg.validate() {
            let answered = msg.is_request() && self.answer_malformed(&msg.headers, &from, &error);
            self.reject(from, error, answered);
            return;
        }
        if msg.is_request() {
            self.handle_request(now, from, msg);
        } else {
            self.handle_response(now, from, msg, &data);
        }
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
        self.reject(from, error, answered);
    }

    /// Timers due at `now` fire: retransmissions, timeouts, and the end of transactions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let timers = self.config.timers;
        for id in self.table.take_due(now) {
            let status = match self.table.get_mut(id) {
                Some(Transaction::Client(c)) => c.on_timer(now, &timers, &mut self.out),
                Some(Transaction::Server(s)) => s.on_timer(now, &timers, &mut self.out),
                None => continue,
            };
            self.table.settle(id, status);
            self.settle_held_cancel(now, id);
        }
    }

    /// Sends a response in server transaction `tx` (RFC 3261 §17.2). A provisional response is
    /// sent once; a 2xx to INVITE ends the transaction (the TU retransmits it with
    /// [`Endpoint::respond_stateless`], §13.3.1.4); any other final response is sent reliably
    /// and re-sent for each retransmission of the request.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: Message,
    ) -> Result<(), EndpointError> {
        let code = response.status().ok_or(EndpointError::NotAResponse)?;
        let Some(Transaction::Server(s)) = self.table.get_mut(tx) else {
            return Err(EndpointError::UnknownTransaction);
        };
        let status = s.respond(now, &self.config.timers, &response, &mut self.out)?;
        // An RFC 2543 ACK is matched by the To tag of the final response (§17.2.3).
        let ack_key = (code >= 300
            && s.state() == TransactionState::InviteServer(InviteServerState::Completed))
        .then(|| {
            let to_tag = response.to_tag().ok().flatten();
            s.keys().first().and_then(|k| k.ack_key(to_tag))
        })
        .flatten();
        if let Some(key) = ack_key {
            self.table.add_server_key(tx, key);
        }
        self.table.settle(tx, status);
        Ok(())
    }

    /// Sends a response outside any transaction to where a request from `to` is answered
    /// (RFC 3261 §18.2.2): the UAS core's retransmissions of a 2xx to INVITE (§13.3.1.4).
    /// `response` must carry the request's Via as stamped on arrival.
    pub fn respond_stateless(
        &mut self,
        now: Instant,
        to: Peer,
        response: Message,
    ) -> Result<(), EndpointError> {
        let _ = now;
        if response.status().is_none() {
            return Err(EndpointError::NotAResponse);
        }
        let (destination, fallback) = response_destination(&response, &to);
        self.out.send(destination, fallback, response.to_bytes());
        Ok(())
    }

    /// Sends a response outside any transaction to the element its top Via names (RFC 3261
    /// §16.11, §18.2.2): a proxy forwarding a response that matched no transaction
    /// ([`Event::StrayResponse`]; a retransmitted `2xx` to an INVITE, §16.7 step 5) or whose
    /// server transaction has ended (§16.7 step 9), its own Via already removed. Over UDP it
    /// goes to the Via's `received` and `rport` (or its sent-by); over a stream transport,
    /// over a connection to that address (`parley-net` reuses an open one).
    ///
    /// Fails with [`EndpointError::UnroutableVia`] when the Via needs DNS (a host name without
    /// `received`): nothing is sent.
    pub fn forward_response(
        &mut self,
        now: Instant,
        response: Message,
    ) -> Result<(), EndpointError> {
        let _ = now;
        if response.status().is_none() {
            return Err(EndpointError::NotAResponse);
        }
        let destination = response
            .top_via()
            .ok()
            .and_then(|via| via_destination(&via))
            .ok_or(EndpointError::UnroutableVia)?;
        self.out.send(destination, None, response.to_bytes());
        Ok(())
    }

    /// Cancels INVITE client transaction `invite` (RFC 3261 §9.1): builds the CANCEL from the
    /// INVITE as sent (same Request-URI, Call-ID, To, From, Route, Max-Forwards and CSeq
    /// number, method CANCEL, and the INVITE's top Via alone, so the same branch) and starts a
    /// non-INVITE client transaction for it to the INVITE's destination. Returns the CANCEL's
    /// transaction, whose response the TU sees as for any request.
    ///
    /// If the INVITE has had no provisional response yet, the CANCEL is held (its transaction
    /// is in "Trying" with no timer running) and sent when the first one arrives; if the final
    /// response or the timeout comes first, it is dropped unsent with
    /// [`Event::CancelDropped`]. Once the CANCEL is sent, the INVITE gets 64·T1 more for its
    /// final response (Timer B), then ends with [`Event::Timeout`].
    ///
    /// Fails, sending nothing, with [`EndpointError::UnknownTransaction`] once the INVITE's
    /// transaction has ended (after a 2xx, say), [`EndpointError::InviteAnswered`] when it
    /// has its non-2xx final response, [`EndpointError::AlreadyCancelled`] when a CANCEL of
    /// it is under way, [`EndpointError::NotAnInvite`] for any other transaction, and
    /// [`EndpointError::TooManyTransactions`].
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: TransactionId,
    ) -> Result<TransactionId, EndpointError> {
        let client = match self.table.get(invite) {
            Some(Transaction::Client(c)) => c,
            Some(Transaction::Server(_)) => return Err(EndpointError::NotAnInvite),
            None => return Err(EndpointError::UnknownTransaction),
        };
        let proceeding = match client.state() {
            TransactionState::InviteClient(InviteClientState::Calling) => false,
            TransactionState::InviteClient(InviteClientState::Proceeding) => true,
            TransactionState::InviteClient(_) => return Err(EndpointError::InviteAnswered),
            _ => return Err(EndpointError::NotAnInvite),
        };
        // Only `None` for a transaction that is not an INVITE's.
        let outgoing = client.cancel_request().ok_or(EndpointError::NotAnInvite)?;
        if self.table.find_client(&outgoing.key).is_some() {
            return Err(EndpointError::AlreadyCancelled);
        }
        if !self.table.make_room(self.config.max_transactions) {
            return Err(EndpointError::TooManyTransactions);
        }
        outgoing
            .request
            .validate()
            .map_err(EndpointError::InvalidRequest)?;
        let id = self.new_tx();
        let timers = self.config.timers;
        if proceeding {
            let tx = ClientTransaction::start(id, now, &timers, outgoing, &mut self.out);
            self.table.insert(id, Transaction::Client(tx));
            if let Some(Transaction::Client(c)) = self.table.get_mut(invite) {
                c.on_cancel_sent(now, &timers);
            }
            self.table.settle(invite, Status::Live);
        } else {
            let tx = ClientTransaction::held(id, &timers, outgoing);
            self.table.insert(id, Transaction::Client(tx));
            self.held_cancels.insert(invite, id);
        }
        Ok(id)
    }

    /// Starts a client transaction for `request` towards `destination` (RFC 3261 §17.1). The
    /// endpoint adds the top Via (with a fresh branch and `rport`) for `local`, the address it
    /// sends from, and retransmits over UDP until a response or the timeout
    /// ([`Event::Timeout`]).
    ///
    /// A request larger than [`EndpointConfig::udp_max_request_size`] for a UDP destination is
    /// sent over TCP to the same address instead, with TCP in the Via (§18.1.1).
    ///
    /// An ACK gets no transaction (§17): it is sent once, and the returned id names none.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut request: Message,
        destination: Destination,
        local: (Transport, SocketAddr),
    ) -> Result<TransactionId, EndpointError> {
        let method = request
            .method()
            .cloned()
            .ok_or(EndpointError::NotARequest)?;
        if method != Method::Ack && !self.table.make_room(self.config.max_transactions) {
            return Err(EndpointError::TooManyTransactions);
        }
        let branch = self.new_branch();
        let via = |transport: Transport| {
            let mut v = String::with_capacity(48 + branch.len());
            v.push_str("SIP/2.0/");
            v.push_str(transport.via_token());
            v.push(' ');
            match local.1 {
                SocketAddr::V4(a) => {
                    crate::print::push_ip(&mut v, IpAddr::V4(*a.ip()));
                    v.push(':');
                    crate::print::push_decimal(&mut v, u64::from(a.port()));
                }
                // Rare: printed by `Display` (brackets, scope id).
                a @ SocketAddr::V6(_) => {
                    use std::fmt::Write;
                    // Infallible: writing to a String cannot fail.
                    let _ = write!(v, "{a}");
                }
            }
            v.push_str(";branch=");
            v.push_str(&branch);
            v.push_str(";rport");
            Bytes::from(v)
        };
        request.headers.push_front(HeaderName::Via, via(local.0));
        request.validate().map_err(EndpointError::InvalidRequest)?;
        let mut destination = destination;
        let mut bytes = request.to_bytes();
        if let (
            Some(limit),
            Destination::Address {
                transport: Transport::Udp,
                addr,
            },
        ) = (self.config.udp_max_request_size, destination)
        {
            if bytes.len() > limit {
                if let Some(top) = request.headers.first_mut(&HeaderName::Via) {
                    top.value = via(Transport::Tcp);
                }
                destination = Destination::Address {
                    transport: Transport::Tcp,
                    addr,
                };
                bytes = request.to_bytes();
            }
        }
        let id = self.new_tx();
        if method == Method::Ack {
            self.out.send(destination, None, bytes);
            return Ok(id);
        }
        let outgoing = Outgoing {
            key: ClientKey {
                branch: branch.into(),
                method,
            },
            request,
            bytes,
            destination,
        };
        let tx = ClientTransaction::start(id, now, &self.config.timers, outgoing, &mut self.out);
        self.table.insert(id, Transaction::Client(tx));
        Ok(id)
    }

    /// The next message to put on the wire.
    pub fn poll_transmit(&mut self) -> Option<crate::transport::Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// The next instant at which [`Endpoint::handle_timeout`] must be called: the earliest
    /// deadline of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// A fresh To/From tag.
    pub fn new_tag(&mut self) -> String {
        let mut tag = String::with_capacity(16);
        crate::print::push_hex(&mut tag, self.next_random());
        tag
    }

    /// A valid request: matched to its server transaction (§17.2.3) or given a new one.
    fn handle_request(&mut self, now: Instant, from: Peer, mut request: Message) {
        // The top Via is parsed once for the stamp, the key and the response address.
        let (key, target) = match stamp_for_transaction(&mut request, from.remote) {
            Some((key, target)) => (key, Some(target)),
            // The separate steps, which say what is wrong.
            None => match ServerKey::for_request(&request) {
                Ok(key) => {
                    stamp_received(&mut request, from.remote);
                    (key, None)
                }
                Err(error) => {
                    let answered = self.answer_malformed(&request.headers, &from, &error);
                    self.reject(from, error, answered);
                    return;
                }
            },
        };
        let found = self.table.find_server(&key);
        if request.method() == Some(&Method::Ack) {
            match found {
                // The ACK of a non-2xx final response belongs to the INVITE transaction.
                Some(id) => {
                    if let Some(Transaction::Server(s)) = self.table.get_mut(id) {
                        let status = s.on_ack(now, &self.config.timers);
                        self.table.settle(id, status);
                    }
                }
                None => self.out.events.push_back(Event::Request {
                    tx: None,
                    request,
                    from,
                }),
            }
            return;
        }
        if let Some(id) = found {
            // A retransmission: absorbed, the last response re-sent (§17.2.1, §17.2.2).
            if let Some(Transaction::Server(s)) = self.table.get_mut(id) {
                s.on_retransmission(&mut self.out);
            }
            return;
        }
        if !self.table.make_room(self.config.max_transactions) {
            self.answer_overloaded(&request, &from);
            self.out.events.push_back(Event::Overloaded { from });
            return;
        }
        let id = self.new_tx();
        let to = match (from.connection, target) {
            (None, Some(target)) => datagram_destination(Some(target), &from),
            _ => response_destination(&request, &from),
        };
        let tx = ServerTransaction::new(id, now, key, &request, &from, to);
        self.table.insert(id, Transaction::Server(tx));
        self.out.events.push_back(Event::Request {
            tx: Some(id),
            request,
            from,
        });
    }

    /// A valid response: passed to its client transaction (§17.1.3) or reported as stray.
    fn handle_response(&mut self, now: Instant, from: Peer, response: Message, raw: &[u8]) {
        let key = match ClientKey::for_response(&response) {
            Ok(key) => key,
            Err(error) => return self.reject(from, error, false),
        };
        let id = key.and_then(|k| self.table.find_client(&k));
        let Some((id, Transaction::Client(c))) =
            id.and_then(|id| Some((id, self.table.get_mut(id)?)))
        else {
            self.out
                .events
                .push_back(Event::StrayResponse { from, response });
            return;
        };
        let status = c.on_response(now, &self.config.timers, response, raw, from, &mut self.out);
        self.table.settle(id, status);
        self.settle_held_cancel(now, id);
    }

    /// After INVITE client transaction `invite` handled an input: the CANCEL held for it goes
    /// out once a provisional response has arrived, and is dropped once the INVITE has its
    /// final response or has ended (RFC 3261 §9.1).
    fn settle_held_cancel(&mut self, now: Instant, invite: TransactionId) {
        let Some(&cancel) = self.held_cancels.get(&invite) else {
            return;
        };
        let timers = self.config.timers;
        match self.table.get(invite).map(Transaction::state) {
            Some(TransactionState::InviteClient(InviteClientState::Calling)) => {}
            Some(TransactionState::InviteClient(InviteClientState::Proceeding)) => {
                self.held_cancels.remove(&invite);
                if let Some(Transaction::Client(c)) = self.table.get_mut(cancel) {
                    c.release(now, &timers, &mut self.out);
                }
                self.table.settle(cancel, Status::Live);
                if let Some(Transaction::Client(c)) = self.table.get_mut(invite) {
                    c.on_cancel_sent(now, &timers);
                }
                self.table.settle(invite, Status::Live);
            }
            _ => {
                self.held_cancels.remove(&invite);
                self.table.settle(cancel, Status::Terminated);
                self.out
                    .events
                    .push_back(Event::CancelDropped { tx: cancel, invite });
            }
        }
    }

    fn reject(&mut self, from: Peer, error: ParseError, answered: bool) {
        self.out.events.push_back(Event::Rejected {
            from,
            error,
            answered,
        });
    }

    fn new_branch(&mut self) -> String {
        let mut branch = String::with_capacity(crate::header::via::MAGIC_COOKIE.len() + 16);
        branch.push_str(crate::header::via::MAGIC_COOKIE);
        crate::print::push_hex(&mut branch, self.next_random());
        branch
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

    /// Queues the stateless `503` for a request that finds the transaction table full.
    fn answer_overloaded(&mut self, request: &Message, from: &Peer) {
        let tag = self.new_tag();
        let mut response = request.response(503, "Service Unavailable", Some(&tag));
        response.headers.remove_all(&HeaderName::ContentLength);
        response.headers.push(
            HeaderName::from_bytes(Bytes::from_static(b"Retry-After")),
            Bytes::from_static(OVERLOAD_RETRY_AFTER.as_bytes()),
        );
        response.set_content_length();
        let (destination, fallback) = response_destination(request, from);
        self.out.send(destination, fallback, response.to_bytes());
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
        let mut response = response_from_headers(
            headers,
            error.status_code(),
            &error.reason_phrase(),
            Some(&tag),
        );
        // The request never reached the transport's Via stamping, so mark the source here:
        // the answer then goes back where the request came from (RFC 3581 §4), not to a
        // sent-by that may sit behind a NAT.
        stamp_received(&mut response, from.remote);
        let (destination, fallback) = response_destination(&response, from);
        self.out.send(destination, fallback, response.to_bytes());
        true
    }
}
