//! The subscriber's side of one subscription (RFC 6665 §4.1).
//!
//! # Run-loop contract
//! Inputs: [`Subscriber::new`] (queues the initial SUBSCRIBE), [`Subscriber::handle_response`]
//! (final responses to our SUBSCRIBEs), [`Subscriber::handle_notify`] (returns the status to
//! answer the NOTIFY with), [`Subscriber::unsubscribe`], [`Subscriber::handle_timeout`].
//! Outputs: [`Subscriber::poll_action`] until `None`, then [`Subscriber::poll_timeout`].
//!
//! Refresh timing: a subscription granted for `e` seconds is refreshed `min(e/3, 300)`
//! seconds before it expires (at two thirds of short ones, five minutes ahead of long ones).

use super::state::{Reason, State};
use crate::dialog::Dialog;
use crate::header_name::HeaderName;
use crate::message::Message;
use crate::method::Method;
use crate::uri::Uri;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The subscriber's states (RFC 6665 §4.1.2):
///
/// ```text
///                       +-------------+
///                       |    init     |<-----------------------+
///                       +-------------+                        |
///                              |                           Retry-after
///                        Send SUBSCRIBE                    expires
///                              |                               |
///                              V          Timer N Fires;       |
///                       +-------------+   SUBSCRIBE failure    |
///          +------------| notify_wait |-- response; --------+  |
///          |            +-------------+   or NOTIFY,        |  |
///          |                   |          state=terminated  |  |
///          |                   |                            V  |
///  Receive NOTIFY,    Receive NOTIFY,             +-------------+
///  state=active       state=pending               | terminated  |
///          |                   |                  +-------------+
///          |                   V          Receive NOTIFY,  A  A
///          |            +-------------+   state=terminated;|  |
///          |            |   pending   |-- or 481 to -------+  |
///          |            +-------------+   refresh;            |
///          |                   |          re-subscription     |
///          |            Receive NOTIFY,   times out           |
///          |            state=active                          |
///          |                   V                              |
///          |            +-------------+   (same as pending)   |
///          +----------->|   active    |-----------------------+
///                       +-------------+
/// ```
///
/// `init` is before [`Subscriber::new`]; retrying after `terminated` is a new `Subscriber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberState {
    NotifyWait,
    Pending,
    Active,
    Terminated,
}

/// When to subscribe again after termination (RFC 6665 §4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAdvice {
    /// `deactivated`, `timeout`, no reason, or 481: re-subscribe at once if still wanted.
    Now,
    /// `probation`, `giveup`: not before this delay (`retry-after`, or a local default).
    After(Duration),
    /// `rejected`, `noresource`, `invariant`, or a failed initial SUBSCRIBE: do not retry.
    Never,
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberAction {
    /// Send this SUBSCRIBE (initial, refresh or unsubscribe); the endpoint adds the Via.
    SendSubscribe(Message),
    /// The subscription moved to `pending` or `active`.
    StateChanged(SubscriberState),
    /// The subscription ended.
    Terminated {
        reason: Option<Reason>,
        retry: RetryAdvice,
    },
}

/// Timer N: 64·T1 with T1 = 500 ms (RFC 6665 §6.1.2 / RFC 3261 §17.1.1.1).
pub const TIMER_N: Duration = Duration::from_secs(32);

/// Delay used for `probation`/`giveup` without `retry-after`.
const DEFAULT_RETRY: Duration = Duration::from_secs(60);

/// One subscription, subscriber side.
#[derive(Debug, Clone)]
pub struct Subscriber {
    state: SubscriberState,
    initial: Message,
    dialog: Option<Dialog>,
    local_target: Uri,
    event: String,
    requested: u32,
    expires_at: Option<Instant>,
    refresh_at: Option<Instant>,
    /// Timer N: the first NOTIFY must arrive by then (RFC 6665 §4.1.2.4).
    notify_deadline: Option<Instant>,
    unsubscribing: bool,
    actions: VecDeque<SubscriberAction>,
}

/// How long before expiry a subscription of `secs` seconds is refreshed.
pub(crate) fn refresh_lead(secs: u32) -> Duration {
    Duration::from_secs(u64::from((secs / 3).min(300)))
}

impl Subscriber {
    /// Queues the initial SUBSCRIBE to `target` from `from;tag=local_tag` for `event`,
    /// asking for `expires` seconds, with `local_target` as Contact.
    pub fn new(
        target: Uri,
        from: Uri,
        local_tag: &str,
        call_id: &str,
        local_target: Uri,
        event: &str,
        expires: u32,
    ) -> Subscriber {
        let mut m = Message::request(Method::Subscribe, target.clone());
        let h = &mut m.headers;
        h.push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        h.push(
            HeaderName::From,
            Bytes::from(format!("<{from}>;tag={local_tag}")),
        );
        h.push(HeaderName::To, Bytes::from(format!("<{target}>")));
        h.push(HeaderName::CallId, Bytes::from(call_id.to_owned()));
        h.push(HeaderName::CSeq, Bytes::from_static(b"1 SUBSCRIBE"));
        h.push(
            HeaderName::Contact,
            Bytes::from(format!("<{local_target}>")),
        );
        h.push(HeaderName::Event, Bytes::from(event.to_owned()));
        h.push(HeaderName::Expires, Bytes::from(expires.to_string()));
        m.set_content_length();
        let mut s = Subscriber {
            state: SubscriberState::NotifyWait,
            initial: m.clone(),
            dialog: None,
            local_target,
            event: event.to_owned(),
            requested: expires,
            expires_at: None,
            refresh_at: None,
            notify_deadline: None,
            unsubscribing: false,
            actions: VecDeque::new(),
        };
        s.actions.push_back(SubscriberAction::SendSubscribe(m));
        s
    }

    pub fn state(&self) -> SubscriberState {
        self.state
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// When the next refresh SUBSCRIBE goes out.
    pub fn refresh_at(&self) -> Option<Instant> {
        self.refresh_at
    }

    /// A final response to one of our SUBSCRIBEs (RFC 6665 §4.1.2.1, §4.1.2.2).
    pub fn handle_response(&mut self, now: Instant, response: &Message) {
        let Some(code) = response.status() else {
            return;
        };
        if code < 200 || self.state == SubscriberState::Terminated {
            return;
        }
        if (200..300).contains(&code) {
            if self.state == SubscriberState::NotifyWait && self.notify_deadline.is_none() {
                self.notify_deadline = Some(now + TIMER_N);
            }
            if self.dialog.is_none() {
                self.dialog = Dialog::uac(&self.initial, response, self.local_target.clone()).ok();
            }
            if self.unsubscribing {
                return;
            }
            let granted = response.expires().ok().flatten().unwrap_or(self.requested);
            self.schedule(now, granted);
            return;
        }
        if code == 423 {
            if let Ok(Some(min)) = response.min_expires() {
                if min > self.requested {
                    self.requested = min;
                    self.send_subscribe(min);
                    return;
                }
            }
        }
        if code == 481 {
            return self.finish(None, RetryAdvice::Now);
        }
        // A failed refresh leaves the subscription valid until it expires (§4.1.2.2); a
        // failed initial SUBSCRIBE ends it.
        if self.dialog.is_none() || self.state == SubscriberState::NotifyWait {
            self.finish(None, RetryAdvice::Never);
        }
    }

    /// A NOTIFY for this subscription (RFC 6665 §4.1.3). Returns the status to answer with:
    /// 200, 400 (no or bad Subscription-State), 481 (not this dialog), 500 (old CSeq).
    pub fn handle_notify(&mut self, now: Instant, notify: &Message) -> u16 {
        match &mut self.dialog {
            Some(d) => {
                if let Err(e) = d.check_request(notify) {
                    return e.status();
                }
            }
            None => {
                // §4.1.2.4: the NOTIFY may overtake the 2xx; it makes the dialog.
                match Dialog::uac_from_notify(&self.initial, notify, self.local_target.clone()) {
                    Ok(d) => self.dialog = Some(d),
                    Err(e) => return e.status(),
                }
            }
        }
        if self.state == SubscriberState::Terminated {
            return 481;
        }
        let Ok(Some(sub_state)) = notify.subscription_state() else {
            return 400;
        };
        self.notify_deadline = None;
        match State::parse(sub_state.state) {
            Some(State::Terminated) => {
                let reason = sub_state.reason().map(Reason::parse);
                let retry_after = sub_state
                    .params
                    .get("retry-after")
                    .flatten()
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                let retry = match (&reason, retry_after) {
                    (Some(Reason::Rejected | Reason::Noresource | Reason::Invariant), _) => {
                        RetryAdvice::Never
                    }
                    (Some(Reason::Probation | Reason::Giveup), r) => {
                        RetryAdvice::After(r.unwrap_or(DEFAULT_RETRY))
                    }
                    (_, Some(r)) => RetryAdvice::After(r),
                    _ => RetryAdvice::Now,
                };
                self.finish(reason, retry);
            }
            Some(s @ (State::Pending | State::Active)) => {
                let new = if s == State::Active {
                    SubscriberState::Active
                } else {
                    SubscriberState::Pending
                };
                if new != self.state {
                    self.state = new;
                    self.actions.push_back(SubscriberAction::StateChanged(new));
                }
                if let (Some(e), false) = (sub_state.expires(), self.unsubscribing) {
                    self.schedule(now, e);
                }
                if self.unsubscribing && self.refresh_at.is_none() {
                    // Unsubscribe asked before the dialog existed: send it now.
                    self.unsubscribing = false;
                    self.unsubscribe(now);
                }
            }
            // Extension states: ignore (§4.1.3 lets packages define them).
            None => {}
        }
        200
    }

    /// Ends the subscription: SUBSCRIBE with `Expires: 0` (RFC 6665 §4.1.2.3). The final
    /// NOTIFY (or the expiry) reports `Terminated`.
    pub fn unsubscribe(&mut self, _now: Instant) {
        if self.state == SubscriberState::Terminated || self.unsubscribing {
            return;
        }
        self.unsubscribing = true;
        self.refresh_at = None;
        if self.dialog.is_some() {
            self.send_subscribe(0);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == SubscriberState::Terminated {
            return None;
        }
        [self.refresh_at, self.expires_at, self.notify_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == SubscriberState::Terminated {
            return;
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return self.finish(Some(Reason::Timeout), RetryAdvice::Now);
        }
        if self.notify_deadline.is_some_and(|t| now >= t) {
            // No NOTIFY after the 2xx: the subscription failed (§4.1.2.4).
            return self.finish(None, RetryAdvice::Now);
        }
        if self.refresh_at.is_some_and(|t| now >= t) {
            self.refresh_at = None;
            self.send_subscribe(self.requested);
        }
    }

    pub fn poll_action(&mut self) -> Option<SubscriberAction> {
        self.actions.pop_front()
    }

    fn schedule(&mut self, now: Instant, granted: u32) {
        let e = Duration::from_secs(u64::from(granted));
        self.expires_at = Some(now + e);
        self.refresh_at = Some(now + e - refresh_lead(granted));
    }

    fn finish(&mut self, reason: Option<Reason>, retry: RetryAdvice) {
        self.state = SubscriberState::Terminated;
        self.refresh_at = None;
        self.expires_at = None;
        self.notify_deadline = None;
        self.actions
            .push_back(SubscriberAction::Terminated { reason, retry });
    }

    /// A SUBSCRIBE in the dialog when there is one, else a new initial one (423 retry).
    fn send_subscribe(&mut self, expires: u32) {
        let mut m = match &mut self.dialog {
            Some(d) => {
                let mut m = d.request(Method::Subscribe);
                m.headers
                    .push(HeaderName::Event, Bytes::from(self.event.clone()));
                m
            }
            None => {
                let mut m = self.initial.clone();
                let seq = m.cseq().map(|c| c.seq.wrapping_add(1)).unwrap_or(2);
                m.headers
                    .set(HeaderName::CSeq, Bytes::from(format!("{seq} SUBSCRIBE")));
                self.initial = m.clone();
                m
            }
        };
        m.headers
            .set(HeaderName::Expires, Bytes::from(expires.to_string()));
        self.actions.push_back(SubscriberAction::SendSubscribe(m));
    }
}
