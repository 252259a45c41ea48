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
        }
    }

    pub fn request(&self) -> &Message {
        &self.request
    }

    /// Whether a final response has gone upstream.
    pub fn is_answered(&self) -> bool {
        self.answered
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

    /// The caller gave up (CANCEL, §16.10) or the context timed out (Timer C, §16.8): if
    /// nothing final went upstream yet, this status does.
    pub fn give_up(&mut self, code: u16, reason: &str) -> Option<Upstream> {
        if self.answered {
            return None;
        }
        self.answered = true;
        Some(Upstream::Final(self.local_response(code, reason)))
    }

    /// When every branch is done and nothing final went upstream, the best final does.
    fn settle(&mut self) -> Option<Upstream> {
        if self.answered || !self.is_finished() {
            return None;
        }
        self.answered = true;
        let chosen =
            choose(&self.finals).unwrap_or_else(|| self.local_response(408, "Request Timeout"));
        Some(Upstream::Final(chosen))
    }

    fn local_response(&self, code: u16, reason: &str) -> Message {
        crate::context::response(&self.request, code, reason, &self.server_token)
    }
}

#[cfg(test)]
#[path = "fork_tests.rs"]
mod tests;
