//! The user agent's transaction user (RFC 3261 §8: the UAC and UAS cores), run by the
//! `parley-net` driver on its task: it hands final responses and timeouts to the requests
//! waiting for them, answers MESSAGE (200, RFC 3428 §7) and OPTIONS (200, §11.2), refuses
//! other methods (405 with `Allow`, §8.2.1), and never blocks.

use crate::incoming::IncomingMessage;
use crate::request::ALLOW;
use parley_net::{EndpointCommands, TransactionUser};
use parley_sip::{Event, HeaderName, Message, Method, TransactionId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;
use tokio::sync::{mpsc, oneshot};

/// How a client transaction ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Its final response.
    Response(Message),
    /// Timer B or F fired with no final response (RFC 3261 §8.1.3.1: treat as 408).
    Timeout,
}

/// Outcomes that arrived before their requester came to wait (the requester learns the
/// transaction id only after the driver started it); a requester that gave up leaves its
/// outcome here, so they are bounded.
const MAX_UNCLAIMED: usize = 256;

enum Slot {
    Waiting(oneshot::Sender<Outcome>),
    Done(Outcome),
}

/// Who waits for which client transaction. Shared by the driver task and the requesters;
/// each lock is held for a map operation only.
#[derive(Default)]
pub(crate) struct Pending {
    slots: HashMap<TransactionId, Slot>,
    unclaimed: VecDeque<TransactionId>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending(..)")
    }
}

pub(crate) type SharedPending = Arc<Mutex<Pending>>;

impl Pending {
    /// Waits for the outcome of `tx` (already there, or later).
    pub(crate) fn wait(shared: &SharedPending, tx: TransactionId) -> oneshot::Receiver<Outcome> {
        let (sender, receiver) = oneshot::channel();
        let mut pending = shared.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.slots.remove(&tx) {
            Some(Slot::Done(outcome)) => {
                pending.unclaimed.retain(|&t| t != tx);
                let _ = sender.send(outcome);
            }
            _ => {
                pending.slots.insert(tx, Slot::Waiting(sender));
            }
        }
        receiver
    }

    fn complete(&mut self, tx: TransactionId, outcome: Outcome) {
        match self.slots.remove(&tx) {
            Some(Slot::Waiting(sender)) => {
                let _ = sender.send(outcome);
            }
            Some(Slot::Done(_)) | None => {
                if self.unclaimed.len() >= MAX_UNCLAIMED {
                    if let Some(old) = self.unclaimed.pop_front() {
                        self.slots.remove(&old);
                    }
                }
                self.slots.insert(tx, Slot::Done(outcome));
                self.unclaimed.push_back(tx);
            }
        }
    }
}

/// A SUBSCRIBE or NOTIFY handed to the presence agent, which answers it with
/// [`parley_net::Command::Respond`].
#[derive(Debug)]
pub(crate) struct DialogRequest {
    pub(crate) tx: TransactionId,
    pub(crate) request: Message,
}

/// Where SUBSCRIBE and NOTIFY go; `None` while no presence agent runs.
pub(crate) type DialogRoute = Arc<Mutex<Option<mpsc::Sender<DialogRequest>>>>;

/// The transaction user of a [`crate::UserAgent`].
pub(crate) struct ClientCore {
    pub(crate) pending: SharedPending,
    pub(crate) dialogs: DialogRoute,
    pub(crate) incoming: mpsc::Sender<IncomingMessage>,
    pub(crate) product: String,
}

impl TransactionUser for ClientCore {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>) {
        match event {
            // Provisional responses only say the request arrived; keep waiting.
            Event::Response { tx, response, .. }
                if response.status().is_some_and(|code| code >= 200) =>
            {
                self.complete(tx, Outcome::Response(response));
            }
            Event::Timeout { tx } => self.complete(tx, Outcome::Timeout),
            Event::Request {
                tx: Some(tx),
                request,
                ..
            } => {
                if matches!(request.method(), Some(Method::Subscribe | Method::Notify)) {
                    match self.forward(tx, request) {
                        Ok(()) => return,
                        Err(request) => {
                            let response = self.answer(&request, endpoint);
                            if let Err(e) = endpoint.respond(tx, response) {
                                tracing::debug!(error = %e, "response not sent");
                            }
                            return;
                        }
                    }
                }
                let response = self.answer(&request, endpoint);
                if let Err(e) = endpoint.respond(tx, response) {
                    tracing::debug!(error = %e, "response not sent");
                }
            }
            Event::Rejected { from, error, .. } => {
                tracing::debug!(remote = %from.remote, %error, "malformed message dropped");
            }
            _ => {}
        }
    }
}

impl ClientCore {
    fn complete(&self, tx: TransactionId, outcome: Outcome) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .complete(tx, outcome);
    }

    /// Hands a SUBSCRIBE or NOTIFY to the presence agent; gives it back when none runs or
    /// its queue is full.
    fn forward(&self, tx: TransactionId, request: Message) -> Result<(), Box<Message>> {
        let route = self.dialogs.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = route.as_ref() else {
            return Err(Box::new(request));
        };
        sender
            .try_send(DialogRequest { tx, request })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => {
                    Box::new(d.request)
                }
            })
    }

    /// The response to a request for this UA (the endpoint has validated it).
    fn answer(&self, request: &Message, endpoint: &mut EndpointCommands<'_>) -> Message {
        let tag = endpoint.new_tag();
        let reply = |code: u16, reason: &str| {
            let mut r = request.response(code, reason, Some(&tag));
            r.headers.push(HeaderName::Server, self.product.clone());
            r
        };
        match request.method() {
            Some(Method::Message) => {
                let message = IncomingMessage::from_request(request, SystemTime::now());
                match self.incoming.try_send(message) {
                    Ok(()) => reply(200, "OK"),
                    // Nobody reads fast enough: the sender (or its server) may retry.
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        let mut r = reply(503, "Service Unavailable");
                        r.headers.push(HeaderName::Other("Retry-After".into()), "5");
                        r
                    }
                    // Nobody reads at all: this UA does not take messages.
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        reply(480, "Temporarily Unavailable")
                    }
                }
            }
            Some(Method::Options) => {
                let mut r = reply(200, "OK");
                r.headers.push(HeaderName::Allow, ALLOW);
                r.headers
                    .push(HeaderName::Accept, "text/plain, message/cpim, */*");
                r
            }
            // No presence agent: nobody to subscribe to here (RFC 6665 §4.2.1.1: 489), and
            // no subscription a NOTIFY could belong to (§4.1.3: 481).
            Some(Method::Subscribe) => reply(489, "Bad Event"),
            Some(Method::Notify) => reply(481, "Subscription Does Not Exist"),
            _ => {
                let mut r = reply(405, "Method Not Allowed");
                r.headers.push(HeaderName::Allow, ALLOW);
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Outcome {
        Outcome::Timeout
    }

    #[test]
    fn an_outcome_reaches_its_waiter_whichever_comes_first() {
        let shared = SharedPending::default();
        // Waiter first.
        let mut early = Pending::wait(&shared, TransactionId(1));
        shared
            .lock()
            .unwrap()
            .complete(TransactionId(1), response());
        assert!(matches!(early.try_recv(), Ok(Outcome::Timeout)));
        // Outcome first.
        shared
            .lock()
            .unwrap()
            .complete(TransactionId(2), response());
        let mut late = Pending::wait(&shared, TransactionId(2));
        assert!(matches!(late.try_recv(), Ok(Outcome::Timeout)));
        assert!(shared.lock().unwrap().slots.is_empty());
        assert!(shared.lock().unwrap().unclaimed.is_empty());
    }

    #[test]
    fn unclaimed_outcomes_are_bounded() {
        let shared = SharedPending::default();
        for i in 0..(MAX_UNCLAIMED as u64 + 10) {
            shared
                .lock()
                .unwrap()
                .complete(TransactionId(i), response());
        }
        let p = shared.lock().unwrap();
        assert_eq!(p.slots.len(), MAX_UNCLAIMED);
        assert!(!p.slots.contains_key(&TransactionId(0)));
    }
}
