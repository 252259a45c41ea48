//! One forked request: the response context of RFC 3261 §16.7, as a pure state machine
//! over branch events. The proxy task feeds it each branch's responses, timeouts and send
//! failures, and sends upstream what it returns.
//!
//! - `100` is never forwarded (§16.7 step 5); other provisional responses are, while no final
//!   response has gone upstream.
//! - A `2xx` goes upstream at once (§16.7 step 5). For INVITE every `2xx` does (each is a
//!   dialog the caller must acknowledge); for other methods only the first.
//! - A `6xx` ends the context at once (§16.7 step 5).
//! - `3xx`–`5xx` are kept; when every branch is done, the best of them goes upstream
//!   ([`super::select::choose`]). A branch that times out counts as `408` (§16.7 step 2,
//!   §8.1.3.1); one that could not be sent counts as the status it was given.
//! - A CANCEL from the caller ([`Fork::cancel`], §16.10) does not answer at once: the pending
//!   branches are cancelled, and when every branch is done `487` goes upstream (unless a
//!   `2xx` or `6xx` went first).
//! - For an INVITE, once a final response has gone upstream or the caller has cancelled,
//!   every pending branch is to be cancelled, once ([`Fork::take_cancellable`], §16.7 step 10).

use super::forward::strip_top_via;
use super::select::choose;
use parley_sip::{Message, Method};

/// What to send upstream after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Provisional(Message),
    Final(Message),
}

/// The state of one branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// Sent, no final response yet.
    Pending,
    /// Sent and cancelled (§16.7 step 10), no final response yet.
    Cancelled,
    Done,
}

/// The response context of one forked request.
#[derive(Debug)]
pub struct Fork {
    /// The request as received, for the responses we generate (its Via is the caller's).
    request: Message,
    server_token: bytes::Bytes,
    branches: Vec<Branch>,
    /// Final non-2xx responses so far, ready to go upstream.
    finals: Vec<Message>,
    /// A final response has gone upstream.
    answered: bool,
    /// The caller sent a CANCEL (§16.10).
    cancelled: bool,
}

impl Fork {
    /// A context for `request` forked to `branches` targets (at least one).
    pub fn new(request: Message, branches: usize, server_token: bytes::Bytes) -> Fork {
        Fork {
            request,
            server_token,
            branches: vec![Branch::Pending; branches.max(1)],
            finals: Vec::new(),
            answered: false,
            cancelled: false,
        }
    }

    pub fn request(&self) -> &Message {
        &self.request
    }

    /// Whether a final response has gone upstream.
    pub fn is_answered(&self) -> bool {
        self.answered
    }

    /// Whether the caller has cancelled the request.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Whether every branch has its final response.
    pub fn is_finished(&self) -> bool {
        self.branches.iter().all(|b| *b == Branch::Done)
    }

    /// A response on branch `branch`, as received (our Via on top).
    pub fn on_response(&mut self, branch: usize, response: Message) -> Option<Upstream> {
        let code = response.status()?;
        let state = self.branches.get_mut(branch)?;
        if *state == Branch::Done {
            return None;
        }
        match code {
            100 => None,
            101..=199 => (!self.answered).then(|| Upstream::Provisional(strip_top_via(response))),
            200..=299 => {
                *state = Branch::Done;
                let invite = self.request.method() == Some(&Method::Invite);
                if self.answered && !invite {
                    return None;
                }
                self.answered = true;
                Some(Upstream::Final(strip_top_via(response)))
            }
            _ => {
                *state = Branch::Done;
                let response = strip_top_via(response);
                if code >= 600 && !self.answered {
                    self.answered = true;
                    return Some(Upstream::Final(response));
                }
                self.finals.push(response);
                self.settle()
            }
        }
    }

    /// Branch `branch` got no final response in time.
    pub fn on_timeout(&mut self, branch: usize) -> Option<Upstream> {
        self.fail(branch, 408, "Request Timeout")
    }

    /// Branch `branch` could not be sent, or ended without an answer, for this reason.
    pub fn fail(&mut self, branch: usize, code: u16, reason: &str) -> Option<Upstream> {
        let state = self.branches.get_mut(branch)?;
        if *state == Branch::Done {
            return None;
        }
        *state = Branch::Done;
        let response = self.local_response(code, reason);
        self.finals.push(response);
        self.settle()
    }

    /// The caller sent a CANCEL (§16.10): the pending branches are to be cancelled
    /// ([`Fork::take_cancellable`]) and, once every branch is done, `487` goes upstream unless
    /// a final response already has.
    pub fn cancel(&mut self) -> Option<Upstream> {
        self.cancelled = true;
        self.settle()
    }

    /// The branches to send a CANCEL on now, each returned once (§16.7 step 10, §16.10): for
    /// an INVITE whose final response has gone upstream or that the caller cancelled, every
    /// branch still waiting for its final response. Other methods are never cancelled (§9.1).
    pub fn take_cancellable(&mut self) -> Vec<usize> {
        let invite = self.request.method() == Some(&Method::Invite);
        if !invite || !(self.answered || self.cancelled) {
            return Vec::new();
        }
        let mut taken = Vec::new();
        for (i, branch) in self.branches.iter_mut().enumerate() {
            if *branch == Branch::Pending {
                *branch = Branch::Cancelled;
                taken.push(i);
            }
        }
        taken
    }

    /// The context timed out (Timer C, §16.8): if nothing final went upstream yet, this
    /// status does (`487` if the caller has cancelled).
    pub fn give_up(&mut self, code: u16, reason: &str) -> Option<Upstream> {
        if self.answered {
            return None;
        }
        self.answered = true;
        let response = match self.cancelled {
            true => self.local_response(487, "Request Terminated"),
            false => self.local_response(code, reason),
        };
        Some(Upstream::Final(response))
    }

    /// When every branch is done and nothing final went upstream, the best final does; for
    /// a cancelled request, `487` (a branch's own if there is one).
    fn settle(&mut self) -> Option<Upstream> {
        if self.answered || !self.is_finished() {
            return None;
        }
        self.answered = true;
        let chosen = if self.cancelled {
            self.finals
                .iter()
                .find(|r| r.status() == Some(487))
                .cloned()
                .unwrap_or_else(|| self.local_response(487, "Request Terminated"))
        } else {
            choose(&self.finals).unwrap_or_else(|| self.local_response(408, "Request Timeout"))
        };
        Some(Upstream::Final(chosen))
    }

    fn local_response(&self, code: u16, reason: &str) -> Message {
        crate::context::response(&self.request, code, reason, &self.server_token)
    }
}

#[cfg(test)]
#[path = "fork_tests.rs"]
mod tests;
