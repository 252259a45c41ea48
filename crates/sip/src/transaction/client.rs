//! Client transactions (RFC 3261 §17.1): send a request reliably, deliver its responses to the
//! TU once each, and acknowledge non-2xx final responses to INVITE.

use super::key::ClientKey;
use super::timer::{backoff, Timer, TimerTable};
use super::{Output, Status, TransactionState};
use crate::endpoint::{Event, TimerConfig, TransactionId};
use crate::header_name::HeaderName;
use crate::message::Message;
use crate::method::Method;
use crate::transport::{Destination, Peer};
use bytes::Bytes;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// States of the INVITE client transaction (RFC 3261 §17.1.1.2, Figure 5).
///
/// ```text
///                                |INVITE from TU
///              Timer A fires     |INVITE sent
///              Reset A,          V                      Timer B fires
///              INVITE sent +-----------+                or Transport Err.
///                +---------|           |---------------+inform TU
///                |         |  Calling  |               |
///                +-------->|           |-------------->|
///                          +-----------+ 2xx           |
///                             |  |       2xx to TU     |
///                             |  |1xx                  |
///     300-699 +---------------+  |1xx to TU            |
///    ACK sent |                  |                     |
/// resp. to TU |  1xx             V                     |
///             |  1xx to TU  -----------+               |
///             |  +---------|           |               |
///             |  |         |Proceeding |-------------->|
///             |  +-------->|           | 2xx           |
///             |            +-----------+ 2xx to TU     |
///             |       300-699    |                     |
///             |       ACK sent,  |                     |
///             |       resp. to TU|                     |
///             |                  |                     |
///             |  300-699         V                     |
///             |  ACK sent  +-----------+Transport Err. |
///             |  +---------|           |Inform TU      |
///             |  |         | Completed |-------------->|
///             |  +-------->|           |               |
///             |            +-----------+               |
///             |              ^   |                     |
///             |              |   | Timer D fires       |
///             +--------------+   | -                   |
///                                |                     |
///                                V                     |
///                          +-----------+               |
///                          |           |               |
///                          | Terminated|<--------------+
///                          |           |
///                          +-----------+
/// ```
///
/// Timer B runs in "Calling", and again from the moment a CANCEL of the INVITE is sent
/// ([`crate::Endpoint::cancel`]): once a provisional response arrives the transaction waits for
/// the final response as long as the TU does (a proxy's Timer C, §16.6), but a cancelled
/// INVITE that has no final response 64·T1 after its CANCEL is destroyed (§9.1) and reported
/// as a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteClientState {
    Calling,
    Proceeding,
    Completed,
    Terminated,
}

/// States of the non-INVITE client transaction (RFC 3261 §17.1.2.2, Figure 6).
///
/// ```text
///                                    |Request from TU
///                                    |send request
///                Timer E             V
///                send request  +-----------+
///                    +---------|           |-------------------+
///                    |         |  Trying   |  Timer F          |
///                    +-------->|           |  or Transport Err.|
///                              +-----------+  inform TU        |
///                 200-699         |  |                         |
///                 resp. to TU     |  |1xx                      |
///                 +---------------+  |resp. to TU              |
///                 |                  |                         |
///                 |   Timer E        V       Timer F           |
///                 |   send req +-----------+ or Transport Err. |
///                 |  +---------|           | inform TU         |
///                 |  |         |Proceeding |------------------>|
///                 |  +-------->|           |-----+             |
///                 |            +-----------+     |1xx          |
///                 |              |      ^        |resp to TU   |
///                 | 200-699      |      +--------+             |
///                 | resp. to TU  |                             |
///                 |              |                             |
///                 |              V                             |
///                 |            +-----------+                   |
///                 |            |           |                   |
///                 |            | Completed |                   |
///                 |            |           |                   |
///                 |            +-----------+                   |
///                 |              ^   |                         |
///                 |              |   | Timer K                 |
///                 +--------------+   | -                       |
///                                    |                         |
///                                    V                         |
///                              +-----------+                   |
///                              |           |                   |
///                              | Terminated|<------------------+
///                              |           |
///                              +-----------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonInviteClientState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Invite(InviteClientState),
    NonInvite(NonInviteClientState),
}

/// A request on its way out, as [`ClientTransaction::start`] takes it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub key: ClientKey,
    /// The request with its top Via.
    pub request: Message,
    /// `request` printed.
    pub bytes: Bytes,
    pub destination: Destination,
}

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTransaction {
    id: TransactionId,
    pub key: ClientKey,
    state: State,
    destination: Destination,
    reliable: bool,
    /// The request as sent, for retransmissions.
    request: Bytes,
    /// The INVITE, kept to build the ACK for a non-2xx final response (§17.1.1.3).
    invite: Option<Message>,
    /// The ACK once built, re-sent for each retransmission of the final response.
    ack: Option<Bytes>,
    timers: TimerTable,
    /// The current interval of Timer A or E.
    interval: Duration,
    /// A digest of the last provisional response delivered, so that a byte-identical
    /// retransmission of it is not delivered twice.
    last_provisional: Option<u64>,
}

impl ClientTransaction {
    /// Creates the transaction for the outgoing request, queues it for its destination (a
    /// connection counts as reliable) and starts Timers A and B (INVITE) or E and F (others)
    /// (§17.1.1.2, §17.1.2.2).
    pub fn start(
        id: TransactionId,
        now: Instant,
        config: &TimerConfig,
        outgoing: Outgoing,
        out: &mut Output,
    ) -> ClientTransaction {
        let mut tx = ClientTransaction::held(id, config, outgoing);
        tx.release(now, config, out);
        tx
    }

    /// Creates the transaction without sending its request: a CANCEL waiting for the first
    /// provisional response to its INVITE (§9.1). It stays in "Trying" with no timer running
    /// until [`ClientTransaction::release`].
    pub fn held(id: TransactionId, config: &TimerConfig, outgoing: Outgoing) -> ClientTransaction {
        let Outgoing {
            key,
            request,
            bytes,
            destination,
        } = outgoing;
        let reliable = match destination {
            Destination::Connection(_) => true,
            Destination::Address { transport, .. } => transport.is_reliable(),
        };
        let invite = key.method == Method::Invite;
        let state = if invite {
            State::Invite(InviteClientState::Calling)
        } else {
            State::NonInvite(NonInviteClientState::Trying)
        };
        let retransmit = if invite { Timer::A } else { Timer::E };
        ClientTransaction {
            id,
            key,
            state,
            destination,
            reliable,
            request: bytes,
            invite: invite.then_some(request),
            ack: None,
            timers: TimerTable::default(),
            interval: retransmit.duration(config, reliable),
            last_provisional: None,
        }
    }

    /// Queues the request for its destination and starts Timers A and B (INVITE) or E and F
    /// (others).
    pub fn release(&mut self, now: Instant, config: &TimerConfig, out: &mut Output) {
        out.send(self.destination, None, self.request.clone());
        let (retransmit, timeout) = match self.state {
            State::Invite(_) => (Timer::A, Timer::B),
            State::NonInvite(_) => (Timer::E, Timer::F),
        };
        if !self.reliable {
            self.timers.set(retransmit, now + self.interval);
        }
        self.timers
            .set(timeout, now + timeout.duration(config, self.reliable));
    }

    pub fn state(&self) -> TransactionState {
        match self.state {
            State::Invite(s) => TransactionState::InviteClient(s),
            State::NonInvite(s) => TransactionState::NonInviteClient(s),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The CANCEL of this INVITE (§9.1): Request-URI, Call-ID, To, From, Route and the CSeq
    /// number of the INVITE, its top Via alone (so the same branch), method CANCEL, for the
    /// same destination. `None` if this is not an INVITE transaction.
    pub fn cancel_request(&self) -> Option<Outgoing> {
        let invite = self.invite.as_ref()?;
        let uri = invite.uri()?.clone();
        let mut cancel = Message::request(Method::Cancel, uri);
        let h = &mut cancel.headers;
        h.push(
            HeaderName::Via,
            invite.headers.get(&HeaderName::Via)?.value.clone(),
        );
        for route in invite.headers.all(&HeaderName::Route) {
            h.push(HeaderName::Route, route.value.clone());
        }
        let max_forwards = invite
            .headers
            .get(&HeaderName::MaxForwards)
            .map_or(Bytes::from_static(b"70"), |m| m.value.clone());
        h.push(HeaderName::MaxForwards, max_forwards);
        for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
            let value = invite.headers.get(&name)?.value.clone();
            h.push(name, value);
        }
        let seq = invite.cseq().ok()?.seq;
        h.push(HeaderName::CSeq, Bytes::from(format!("{seq} CANCEL")));
        cancel.set_content_length();
        Some(Outgoing {
            key: ClientKey {
                branch: self.key.branch.clone(),
                method: Method::Cancel,
            },
            bytes: cancel.to_bytes(),
            request: cancel,
            destination: self.destination,
        })
    }

    /// A CANCEL of this INVITE has been sent: if no final response arrives within 64·T1 the
    /// transaction ends with a timeout (Timer B; §9.1 says to consider the INVITE cancelled
    /// and destroy its transaction).
    pub fn on_cancel_sent(&mut self, now: Instant, config: &TimerConfig) {
        if self.state == State::Invite(InviteClientState::Proceeding) {
            self.timers
                .set(Timer::B, now + Timer::B.duration(config, self.reliable));
        }
    }

    /// A response matched this transaction (§17.1.3). `raw` is the response as received.
    pub fn on_response(
        &mut self,
        now: Instant,
        config: &TimerConfig,
        response: Message,
        raw: &[u8],
        from: Peer,
        out: &mut Output,
    ) -> Status {
        let Some(code) = response.status() else {
            return Status::Live;
        };
        let id = self.id;
        let deliver = |out: &mut Output, response| {
            out.events.push_back(Event::Response {
                tx: id,
                response,
                from,
            });
        };
        match self.state {
            State::Invite(InviteClientState::Calling | InviteClientState::Proceeding) => {
                if code < 200 {
                    self.state = State::Invite(InviteClientState::Proceeding);
                    self.timers.stop(Timer::A);
                    self.timers.stop(Timer::B);
                    if self.is_new_provisional(raw) {
                        deliver(out, response);
                    }
                    Status::Live
                } else if code < 300 {
                    // The 2xx and its ACK belong to the TU (§17.1.1.2, §13.2.2.4).
                    self.state = State::Invite(InviteClientState::Terminated);
                    deliver(out, response);
                    Status::Terminated
                } else {
                    self.ack = self.build_ack(&response);
                    if let Some(ack) = &self.ack {
                        out.send(self.destination, None, ack.clone());
                    }
                    deliver(out, response);
                    self.state = State::Invite(InviteClientState::Completed);
                    self.timers.stop_all();
                    self.enter_wait(now, config, Timer::D)
                }
            }
            State::Invite(InviteClientState::Completed) => {
                // A retransmitted final response: acknowledge again, tell nobody (§17.1.1.2).
                if code >= 300 {
                    if let Some(ack) = &self.ack {
                        out.send(self.destination, None, ack.clone());
                    }
                }
                Status::Live
            }
            State::NonInvite(NonInviteClientState::Trying | NonInviteClientState::Proceeding) => {
                if code < 200 {
                    // Timer E keeps running; it fires at T2 from now on (§17.1.2.2).
                    self.state = State::NonInvite(NonInviteClientState::Proceeding);
                    if self.is_new_provisional(raw) {
                        deliver(out, response);
                    }
                    Status::Live
                } else {
                    deliver(out, response);
                    self.state = State::NonInvite(NonInviteClientState::Completed);
                    self.timers.stop_all();
                    self.enter_wait(now, config, Timer::K)
                }
            }
            State::NonInvite(NonInviteClientState::Completed)
            | State::Invite(InviteClientState::Terminated)
            | State::NonInvite(NonInviteClientState::Terminated) => Status::Live,
        }
    }

    /// Runs every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant, config: &TimerConfig, out: &mut Output) -> Status {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::A => {
                    out.send(self.destination, None, self.request.clone());
                    self.interval = self.interval.saturating_mul(2);
                    self.timers.set(Timer::A, now + self.interval);
                }
                Timer::E => {
                    out.send(self.destination, None, self.request.clone());
                    self.interval = match self.state {
                        State::NonInvite(NonInviteClientState::Proceeding) => config.t2,
                        _ => backoff(self.interval, config),
                    };
                    self.timers.set(Timer::E, now + self.interval);
                }
                Timer::B | Timer::F => {
                    out.events.push_back(Event::Timeout { tx: self.id });
                    return self.terminate();
                }
                Timer::D | Timer::K => return self.terminate(),
                Timer::G | Timer::H | Timer::I | Timer::J => {}
            }
        }
        Status::Live
    }

    fn terminate(&mut self) -> Status {
        self.timers.stop_all();
        self.state = match self.state {
            State::Invite(_) => State::Invite(InviteClientState::Terminated),
            State::NonInvite(_) => State::NonInvite(NonInviteClientState::Terminated),
        };
        Status::Terminated
    }

    /// Enters the wait of "Completed" with Timer D or K; zero on reliable transports, where
    /// the transaction terminates at once.
    fn enter_wait(&mut self, now: Instant, config: &TimerConfig, timer: Timer) -> Status {
        let wait = timer.duration(config, self.reliable);
        if wait.is_zero() {
            return self.terminate();
        }
        self.timers.set(timer, now + wait);
        Status::Live
    }

    fn is_new_provisional(&mut self, raw: &[u8]) -> bool {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        raw.hash(&mut h);
        let digest = h.finish();
        let new = self.last_provisional != Some(digest);
        self.last_provisional = Some(digest);
        new
    }

    /// The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From and Route
    /// of the INVITE, its top Via alone, the To of the response, CSeq number of the INVITE with
    /// method ACK.
    fn build_ack(&self, response: &Message) -> Option<Bytes> {
        let invite = self.invite.as_ref()?;
        let uri = invite.uri()?.clone();
        let mut ack = Message::request(Method::Ack, uri);
        let h = &mut ack.headers;
        h.push(
            HeaderName::Via,
            invite.headers.get(&HeaderName::Via)?.value.clone(),
        );
        for route in invite.headers.all(&HeaderName::Route) {
            h.push(HeaderName::Route, route.value.clone());
        }
        h.push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        h.push(
            HeaderName::From,
            invite.headers.get(&HeaderName::From)?.value.clone(),
        );
        h.push(
            HeaderName::To,
            response.headers.get(&HeaderName::To)?.value.clone(),
        );
        h.push(
            HeaderName::CallId,
            invite.headers.get(&HeaderName::CallId)?.value.clone(),
        );
        let seq = invite.cseq().ok()?.seq;
        h.push(HeaderName::CSeq, Bytes::from(format!("{seq} ACK")));
        ack.set_content_length();
        Some(ack.to_bytes())
    }
}
