//! Server transactions (RFC 3261 §17.2): deliver a request to the TU once, absorb its
//! retransmissions by re-sending the last response, and send final responses reliably.

use super::key::ServerKey;
use super::timer::{backoff, Timer, TimerTable};
use super::{Output, Status, TransactionState};
use crate::endpoint::{EndpointError, Event, TimerConfig, TransactionId};
use crate::message::Message;
use crate::method::Method;
use crate::transport::{Destination, Peer};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// How long an INVITE server transaction waits for the TU's first response before it sends
/// `100 Trying` itself (RFC 3261 §17.2.1: "unless it knows that the TU will generate a
/// provisional or final response within 200 ms").
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

/// States of the INVITE server transaction (RFC 3261 §17.2.1, Figure 7).
///
/// ```text
///                                |INVITE
///                                |pass INV to TU
///             INVITE             V send 100 if TU won't in 200ms
///             send response+-----------+
///                 +--------|           |--------+101-199 from TU
///                 |        | Proceeding|        |send response
///                 +------->|           |<-------+
///                          |           |          Transport Err.
///                          |           |          Inform TU
///                          |           |--------------->+
///                          +-----------+                |
///             300-699 from TU |     |2xx from TU        |
///             send response   |     |send response      |
///                             |     +------------------>+
///                             |                         |
///             INVITE          V          Timer G fires  |
///             send response+-----------+ send response  |
///                 +--------|           |--------+       |
///                 |        | Completed |        |       |
///                 +------->|           |<-------+       |
///                          +-----------+                |
///                             |     |                   |
///                         ACK |     |                   |
///                         -   |     +------------------>+
///                             |        Timer H fires    |
///                             V        or Transport Err.|
///                          +-----------+  Inform TU     |
///                          |           |                |
///                          | Confirmed |                |
///                          |           |                |
///                          +-----------+                |
///                                |                      |
///                                |Timer I fires         |
///                                |-                     |
///                                |                      |
///                                V                      |
///                          +-----------+                |
///                          |           |                |
///                          | Terminated|<---------------+
///                          |           |
///                          +-----------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteServerState {
    Proceeding,
    Completed,
    Confirmed,
    Terminated,
}

/// States of the non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
///
/// ```text
///                                   |Request received
///                                   |pass to TU
///                                   V
///                             +-----------+
///                             |           |
///                             | Trying    |-------------+
///                             |           |             |
///                             +-----------+             |200-699 from TU
///                                   |                   |send response
///                                   |1xx from TU        |
///                                   |send response      |
///                                   |                   |
///                Request            V      1xx from TU  |
///                send response+-----------+send response|
///                    +--------|           |--------+    |
///                    |        | Proceeding|        |    |
///                    +------->|           |<-------+    |
///             +<--------------|           |             |
///             |Trnsprt Err    +-----------+             |
///             |Inform TU            |                   |
///             |                     |                   |
///             |                     |200-699 from TU    |
///             |                     |send response      |
///             |  Request            V                   |
///             |  send response+-----------+             |
///             |      +--------|           |             |
///             |      |        | Completed |<------------+
///             |      +------->|           |
///             +<--------------|           |
///             |Trnsprt Err    +-----------+
///             |Inform TU            |
///             |                     |Timer J fires
///             |                     |-
///             |                     |
///             |                     V
///             |               +-----------+
///             |               |           |
///             +-------------->| Terminated|
///                             |           |
///                             +-----------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonInviteServerState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Invite(InviteServerState),
    NonInvite(NonInviteServerState),
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTransaction {
    id: TransactionId,
    /// The key of the request that created it, then the ACK key of an RFC 2543 INVITE.
    keys: Vec<ServerKey>,
    state: State,
    destination: Destination,
    fallback: Option<Destination>,
    reliable: bool,
    /// The most recent response sent, re-sent when the request is retransmitted.
    last_response: Option<Bytes>,
    /// INVITE only, until a response has been sent: when to send `100 Trying` and the request
    /// to build it from (§17.2.1).
    trying: Option<(Instant, Box<Message>)>,
    timers: TimerTable,
    /// The current interval of Timer G.
    interval: Duration,
}

impl ServerTransaction {
    /// Creates the transaction for `request` (stamped with `received`/`rport`), which arrived
    /// from `from` and is answered at `destination` (then `fallback`; see
    /// `response_destination`), in "Proceeding" (INVITE) or "Trying" (others).
    pub fn new(
        id: TransactionId,
        now: Instant,
        key: ServerKey,
        request: &Message,
        from: &Peer,
        (destination, fallback): (Destination, Option<Destination>),
    ) -> ServerTransaction {
        let invite = request.method() == Some(&Method::Invite);
        let state = if invite {
            State::Invite(InviteServerState::Proceeding)
        } else {
            State::NonInvite(NonInviteServerState::Trying)
        };
        ServerTransaction {
            id,
            keys: vec![key],
            state,
            destination,
            fallback,
            reliable: from.transport.is_reliable(),
            last_response: None,
            trying: invite.then(|| (now + TRYING_DELAY, Box::new(request.clone()))),
            timers: TimerTable::default(),
            interval: Duration::ZERO,
        }
    }

    pub fn keys(&self) -> &[ServerKey] {
        &self.keys
    }

    pub fn add_key(&mut self, key: ServerKey) {
        self.keys.push(key);
    }

    pub fn state(&self) -> TransactionState {
        match self.state {
            State::Invite(s) => TransactionState::InviteServer(s),
            State::NonInvite(s) => TransactionState::NonInviteServer(s),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let trying = self.trying.as_ref().map(|(at, _)| *at);
        match (self.timers.next(), trying) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The request was received again (§17.2.1, §17.2.2): re-send the last response, if any,
    /// except in "Confirmed", which only absorbs ACKs.
    pub fn on_retransmission(&mut self, out: &mut Output) {
        if self.state == State::Invite(InviteServerState::Confirmed) {
            return;
        }
        self.resend(out);
    }

    /// An ACK matched this INVITE transaction (§17.2.1): "Completed" moves to "Confirmed" and
    /// starts Timer I; any other ACK is absorbed.
    pub fn on_ack(&mut self, now: Instant, config: &TimerConfig) -> Status {
        if self.state != State::Invite(InviteServerState::Completed) {
            return Status::Live;
        }
        self.state = State::Invite(InviteServerState::Confirmed);
        self.timers.stop_all();
        let wait = Timer::I.duration(config, self.reliable);
        if wait.is_zero() {
            return self.terminate();
        }
        self.timers.set(Timer::I, now + wait);
        Status::Live
    }

    /// The TU sends `response` in this transaction.
    pub fn respond(
        &mut self,
        now: Instant,
        config: &TimerConfig,
        response: &Message,
        out: &mut Output,
    ) -> Result<Status, EndpointError> {
        let code = response.status().ok_or(EndpointError::NotAResponse)?;
        match self.state {
            State::Invite(InviteServerState::Proceeding) => {}
            State::NonInvite(NonInviteServerState::Trying | NonInviteServerState::Proceeding) => {}
            _ => return Err(EndpointError::AlreadyAnswered),
        }
        self.trying = None;
        let bytes = response.to_bytes();
        out.send(self.destination, self.fallback, bytes.clone());
        self.last_response = Some(bytes);
        Ok(match (self.state, code) {
            (State::Invite(_), 100..=199) => Status::Live,
            // The TU retransmits a 2xx to INVITE itself (§17.2.1, §13.3.1.4).
            (State::Invite(_), 200..=299) => self.terminate(),
            (State::Invite(_), _) => {
                self.state = State::Invite(InviteServerState::Completed);
                if !self.reliable {
                    self.interval = Timer::G.duration(config, false);
                    self.timers.set(Timer::G, now + self.interval);
                }
                self.timers
                    .set(Timer::H, now + Timer::H.duration(config, self.reliable));
                Status::Live
            }
            (State::NonInvite(_), 100..=199) => {
                self.state = State::NonInvite(NonInviteServerState::Proceeding);
                Status::Live
            }
            (State::NonInvite(_), _) => {
                self.state = State::NonInvite(NonInviteServerState::Completed);
                let wait = Timer::J.duration(config, self.reliable);
                if wait.is_zero() {
                    return Ok(self.terminate());
                }
                self.timers.set(Timer::J, now + wait);
                Status::Live
            }
        })
    }

    /// Runs every timer due at `now`, and the 100 Trying of §17.2.1.
    pub fn on_timer(&mut self, now: Instant, config: &TimerConfig, out: &mut Output) -> Status {
        if let Some((at, request)) = self.trying.take() {
            if at <= now {
                let trying = request.response(100, "Trying", None).to_bytes();
                out.send(self.destination, self.fallback, trying.clone());
                self.last_response = Some(trying);
            } else {
                self.trying = Some((at, request));
            }
        }
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::G => {
                    self.resend(out);
                    self.interval = backoff(self.interval, config);
                    self.timers.set(Timer::G, now + self.interval);
                }
                Timer::H => {
                    // The ACK never came (§17.2.1): a transaction failure for the TU.
                    out.events.push_back(Event::Timeout { tx: self.id });
                    return self.terminate();
                }
                Timer::I | Timer::J => return self.terminate(),
                Timer::A | Timer::B | Timer::D | Timer::E | Timer::F | Timer::K => {}
            }
        }
        Status::Live
    }

    fn resend(&self, out: &mut Output) {
        if let Some(r) = &self.last_response {
            out.send(self.destination, self.fallback, r.clone());
        }
    }

    fn terminate(&mut self) -> Status {
        self.timers.stop_all();
        self.trying = None;
        self.state = match self.state {
            State::Invite(_) => State::Invite(InviteServerState::Terminated),
            State::NonInvite(_) => State::NonInvite(NonInviteServerState::Terminated),
        };
        Status::Terminated
    }
}
