//! The notifier's side of one subscription (RFC 6665 §4.2) with NOTIFY rate control
//! (RFC 6446 style).
//!
//! # Run-loop contract
//! - Inputs: [`Subscription::accept`] (the initial SUBSCRIBE), [`Subscription::handle_subscribe`]
//!   (refresh or unsubscribe in the dialog), [`Subscription::state_changed`] (the resource's
//!   state changed), [`Subscription::authorize`] (policy outcome for a pending watcher),
//!   [`Subscription::terminate`] (local policy), [`Subscription::handle_notify_response`] and
//!   [`Subscription::handle_notify_timeout`] (outcome of the NOTIFY transaction),
//!   [`Subscription::handle_timeout`] (at or after [`Subscription::poll_timeout`]).
//! - Outputs: [`Subscription::poll_action`] until `None` after every input, then
//!   [`Subscription::poll_timeout`] for the next wake-up.
//!
//! Rate control: at most one NOTIFY per `min_notify_interval`; changes inside the interval
//! are coalesced into one NOTIFY sent at its end, carrying the state at that time. At most
//! one NOTIFY is in flight: the next waits for the final response to the previous one, so a
//! slow watcher delays only its own NOTIFYs. The NOTIFY that answers a 2xx to SUBSCRIBE
//! (§4.2.2: "immediately") and the final NOTIFY skip the interval but not the in-flight rule.

use super::state::{negotiate_expires, Reason, State};
use crate::dialog::{Dialog, DialogError};
use crate::header_name::HeaderName;
use crate::message::Message;
use crate::method::Method;
use crate::uri::Uri;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Notifier settings for one event package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Shorter requested expiries get `423` with this `Min-Expires` (RFC 6665 §4.2.1.1).
    pub min_expires: u32,
    /// Longer requested expiries are reduced to this.
    pub max_expires: u32,
    /// The package default when SUBSCRIBE has no Expires (RFC 3856 §6.4: 3600 for presence).
    pub default_expires: u32,
    /// The least time between two NOTIFYs of one subscription (RFC 6446 §3 "min-interval").
    pub min_notify_interval: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            min_notify_interval: Duration::from_secs(1),
        }
    }
}

/// The authorization decision for a subscription (RFC 6665 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    Allow,
    /// Decision deferred: the subscription is `pending` (e.g. awaiting the user's consent).
    Pending,
    Reject,
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifierAction {
    /// Send this NOTIFY (Event, Subscription-State, Contact and routing already set). With
    /// `with_body` the caller attaches the current state document (`set_body`); without it
    /// the NOTIFY goes out empty (pending, rejected). Report its outcome with
    /// [`Subscription::handle_notify_response`] or [`Subscription::handle_notify_timeout`].
    SendNotify {
        request: Message,
        state: State,
        with_body: bool,
    },
    /// The subscription is over and its final NOTIFY is done (or failed): delete it.
    Remove,
}

/// The timers of a subscription; the earliest armed one is [`Subscription::poll_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The subscription expires unless refreshed (RFC 6665 §4.2.2 → `reason=timeout`).
    Expiry,
    /// The rate-control interval ends and a coalesced NOTIFY may go (RFC 6446).
    NextNotify,
}

/// One subscription, notifier side. See the module docs for the run-loop contract.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub(super) dialog: Dialog,
    /// The Event header value to echo (package and `id`).
    pub(super) event: String,
    pub(super) state: State,
    pub(super) reason: Option<Reason>,
    pub(super) expires_at: Instant,
    pub(super) expires_unix: u64,
    pub(super) min_interval: Duration,
    pub(super) last_notify: Option<Instant>,
    in_flight: bool,
    /// A change not yet notified.
    dirty: bool,
    /// The next NOTIFY skips the rate interval.
    urgent: bool,
    /// Terminated, and the final NOTIFY is sent (or not needed): remove after it completes.
    final_sent: bool,
    removed: bool,
    actions: VecDeque<NotifierAction>,
}

/// Adds `Expires: n` to a response.
fn with_expires(mut resp: Message, n: u32) -> Message {
    resp.headers
        .push(HeaderName::Expires, Bytes::from(n.to_string()));
    resp
}

impl Subscription {
    /// Handles an initial SUBSCRIBE whose package the caller serves (otherwise it answers
    /// `489` itself, RFC 6665 §4.2.1.1). Returns the subscription and the response to send;
    /// `Err` carries a final error response (`423` with `Min-Expires`, `400`, `403`) and no
    /// subscription. Expires 0 is a fetch: `200`, one NOTIFY with the state, then removal.
    #[allow(clippy::too_many_arguments)] // the inputs of §4.2.1 are all distinct
    pub fn accept(
        now: Instant,
        now_unix: u64,
        request: &Message,
        config: &NotifierConfig,
        local_tag: &str,
        local_target: Uri,
        over_tls: bool,
        authorization: Authorization,
    ) -> Result<(Subscription, Message), Box<Message>> {
        let bad = |code, reason| Box::new(request.response(code, reason, Some(local_tag)));
        let event = match request.event() {
            Ok(Some(_)) => request
                .headers
                .get_str(&HeaderName::Event)
                .unwrap_or_default()
                .to_owned(),
            _ => return Err(bad(400, "Missing or Bad Event")),
        };
        let Ok(requested) = request.expires() else {
            return Err(bad(400, "Bad Expires"));
        };
        let expires = match negotiate_expires(
            requested,
            config.min_expires,
            config.max_expires,
            config.default_expires,
        ) {
            Ok(e) => e,
            Err(min) => {
                let mut r = bad(423, "Interval Too Brief");
                r.headers
                    .push(HeaderName::MinExpires, Bytes::from(min.to_string()));
                return Err(r);
            }
        };
        if authorization == Authorization::Reject {
            return Err(bad(403, "Forbidden"));
        }
        let dialog = Dialog::uas(request, local_tag, local_target.clone(), over_tls)
            .map_err(|e| bad(e.status(), "Bad Dialog Request"))?;
        let mut sub = Subscription {
            dialog,
            event,
            state: match authorization {
                Authorization::Allow => State::Active,
                _ => State::Pending,
            },
            reason: None,
            expires_at: now + Duration::from_secs(u64::from(expires)),
            expires_unix: now_unix.saturating_add(u64::from(expires)),
            min_interval: config.min_notify_interval,
            last_notify: None,
            in_flight: false,
            dirty: true,
            urgent: true,
            final_sent: false,
            removed: false,
            actions: VecDeque::new(),
        };
        let mut ok = with_expires(request.response(200, "OK", Some(local_tag)), expires);
        ok.headers.push(
            HeaderName::Contact,
            Bytes::from(format!("<{local_target}>")),
        );
        if expires == 0 {
            sub.end(now, Reason::Timeout);
        } else {
            sub.try_send(now);
        }
        Ok((sub, ok))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn dialog(&self) -> &Dialog {
        &self.dialog
    }

    /// The Event header value of the subscription (package and parameters).
    pub fn event(&self) -> &str {
        &self.event
    }

    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// Whether a NOTIFY awaits its final response.
    pub fn notify_in_flight(&self) -> bool {
        self.in_flight
    }

    /// Whole seconds left until expiry, rounded up (the `expires` of Subscription-State).
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    /// The Subscription-State value a NOTIFY sent at `now` carries (RFC 6665 §4.2.2,
    /// §8.2.3): `active;expires=N`, `pending;expires=N` or `terminated;reason=R`.
    pub fn subscription_state_value(&self, now: Instant) -> String {
        match self.state {
            State::Active | State::Pending => {
                format!(
                    "{};expires={}",
                    self.state.as_str(),
                    self.remaining_secs(now)
                )
            }
            State::Terminated => match &self.reason {
                Some(r) => format!("terminated;reason={r}"),
                None => "terminated".to_owned(),
            },
        }
    }

    /// Handles a SUBSCRIBE inside the dialog: a refresh, or an unsubscribe (`Expires: 0`,
    /// RFC 6665 §4.2.1.2) which ends the subscription with a final NOTIFY. Returns the
    /// response: `200` with `Expires` and our Contact, `423`, `500` for an out-of-order CSeq
    /// (RFC 3261 §12.2.2), `481` once terminated, `489` for another package.
    pub fn handle_subscribe(
        &mut self,
        now: Instant,
        now_unix: u64,
        request: &Message,
        config: &NotifierConfig,
    ) -> Message {
        let tag = self.dialog.local_tag.clone();
        let resp = |code, reason| request.response(code, reason, Some(&tag));
        if self.state == State::Terminated {
            return resp(481, "Subscription Does Not Exist");
        }
        if let Err(e) = self.dialog.check_request(request) {
            let reason = match e {
                DialogError::OutOfOrder { .. } => "Server Internal Error",
                DialogError::NotThisDialog => "Subscription Does Not Exist",
                _ => "Bad Request",
            };
            return resp(e.status(), reason);
        }
        let same_event = request.event().ok().flatten().is_some_and(|e| {
            let ours = crate::header::Event::parse(&self.event).ok();
            ours.is_some_and(|o| o.package.eq_ignore_ascii_case(e.package) && o.id() == e.id())
        });
        if !same_event {
            return resp(489, "Bad Event");
        }
        let Ok(requested) = request.expires() else {
            return resp(400, "Bad Expires");
        };
        match negotiate_expires(
            requested,
            config.min_expires,
            config.max_expires,
            config.default_expires,
        ) {
            Err(min) => {
                let mut r = resp(423, "Interval Too Brief");
                r.headers
                    .push(HeaderName::MinExpires, Bytes::from(min.to_string()));
                r
            }
            Ok(0) => {
                self.expires_at = now;
                self.expires_unix = now_unix;
                self.end(now, Reason::Timeout);
                self.with_contact(with_expires(resp(200, "OK"), 0))
            }
            Ok(e) => {
                self.expires_at = now + Duration::from_secs(u64::from(e));
                self.expires_unix = now_unix.saturating_add(u64::from(e));
                // §4.2.2: a 2xx to SUBSCRIBE is followed at once by a NOTIFY.
                self.dirty = true;
                self.urgent = true;
                self.try_send(now);
                self.with_contact(with_expires(resp(200, "OK"), e))
            }
        }
    }

    /// A SUBSCRIBE is a target refresh request (RFC 6665 §3.1), and RFC 3265's header table
    /// (§7.1) makes Contact mandatory in its 2xx: a refresh's `200` names our target again,
    /// as the first did. Clients that rebuild their route set from every 2xx (sipp) need it.
    fn with_contact(&self, mut response: Message) -> Message {
        response.headers.push(
            HeaderName::Contact,
            Bytes::from(format!("<{}>", self.dialog.local_target)),
        );
        response
    }

    /// The watched resource changed: notify (now, or at the end of the rate interval).
    /// Pending subscriptions learn nothing until authorized (RFC 6665 §4.2.1.3).
    pub fn state_changed(&mut self, now: Instant) {
        if self.state == State::Active {
            self.dirty = true;
            self.try_send(now);
        }
    }

    /// The authorization decision for a pending subscription arrived (RFC 6665 §4.2.1.3):
    /// `Allow` makes it active and notifies the state; `Reject` ends it with
    /// `reason=rejected`.
    pub fn authorize(&mut self, now: Instant, decision: Authorization) {
        match (self.state, decision) {
            (State::Pending, Authorization::Allow) => {
                self.state = State::Active;
                self.dirty = true;
                self.try_send(now);
            }
            (State::Pending | State::Active, Authorization::Reject) => {
                self.end(now, Reason::Rejected);
            }
            _ => {}
        }
    }

    /// Ends the subscription by local policy with a final NOTIFY carrying `reason`.
    pub fn terminate(&mut self, now: Instant, reason: Reason) {
        self.end(now, reason);
    }

    /// The final response to the last NOTIFY arrived. `481` and the responses that end the
    /// dialog usage (RFC 5057 §5.1: 404, 405, 410, 416, 480–485, 489, 501, 604) remove the
    /// subscription without another NOTIFY; other errors keep it (RFC 6665 §4.2.2 leaves
    /// them to local policy) and the next change is notified as usual.
    pub fn handle_notify_response(&mut self, now: Instant, code: u16) {
        if code < 200 {
            return;
        }
        self.in_flight = false;
        let ends_usage = matches!(
            code,
            404 | 405 | 408 | 410 | 416 | 480..=485 | 489 | 501 | 604
        );
        if ends_usage {
            self.state = State::Terminated;
            self.remove();
            return;
        }
        self.try_send(now);
    }

    /// The last NOTIFY timed out (Timer F): remove the subscription (RFC 6665 §4.2.2).
    pub fn handle_notify_timeout(&mut self, _now: Instant) {
        self.in_flight = false;
        self.state = State::Terminated;
        self.remove();
    }

    /// The earliest armed timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers().into_iter().filter_map(|(_, at)| at).min()
    }

    /// The table of timers and their deadlines (`None` when not armed).
    pub fn timers(&self) -> [(Timer, Option<Instant>); 2] {
        let live = !self.removed && self.state != State::Terminated;
        let next_notify = (live && self.dirty && !self.in_flight && !self.urgent)
            .then(|| self.last_notify.map(|t| t + self.min_interval))
            .flatten();
        [
            (Timer::Expiry, live.then_some(self.expires_at)),
            (Timer::NextNotify, next_notify),
        ]
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.removed || self.state == State::Terminated {
            return;
        }
        if now >= self.expires_at {
            self.end(now, Reason::Timeout);
            return;
        }
        self.try_send(now);
    }

    pub fn poll_action(&mut self) -> Option<NotifierAction> {
        let action = self.actions.pop_front();
        if self.actions.is_empty() && self.actions.capacity() > 0 {
            // An idle subscription keeps no queue: room for four actions is 800 bytes, and a
            // notifier may hold a million idle subscriptions.
            self.actions = VecDeque::new();
        }
        action
    }

    /// Terminated: the final NOTIFY goes next (after any in flight), then removal.
    fn end(&mut self, now: Instant, reason: Reason) {
        if self.state == State::Terminated {
            return;
        }
        // A pending or rejected watcher never gets the resource's state (§4.2.1.3).
        let authorized = self.state == State::Active && reason != Reason::Rejected;
        self.state = State::Terminated;
        self.reason = Some(reason);
        self.dirty = authorized;
        self.urgent = true;
        self.try_send(now);
    }

    fn remove(&mut self) {
        if !self.removed {
            self.removed = true;
            self.actions.push_back(NotifierAction::Remove);
        }
    }

    /// Sends a NOTIFY if one is due and none is in flight.
    fn try_send(&mut self, now: Instant) {
        if self.removed || self.in_flight {
            return;
        }
        if self.state == State::Terminated {
            if self.final_sent {
                self.remove();
            } else {
                self.final_sent = true;
                let with_body = self.dirty;
                self.send(now, with_body);
            }
            return;
        }
        if !self.dirty {
            return;
        }
        let interval_over = self
            .last_notify
            .is_none_or(|t| now >= t + self.min_interval);
        if self.urgent || interval_over {
            let with_body = self.state == State::Active;
            self.send(now, with_body);
        }
    }

    fn send(&mut self, now: Instant, with_body: bool) {
        let mut request = self.dialog.request(Method::Notify);
        request
            .headers
            .push(HeaderName::Event, Bytes::from(self.event.clone()));
        request.headers.push(
            HeaderName::SubscriptionState,
            Bytes::from(self.subscription_state_value(now)),
        );
        self.in_flight = true;
        self.dirty = false;
        self.urgent = false;
        self.last_notify = Some(now);
        self.actions.push_back(NotifierAction::SendNotify {
            request,
            state: self.state,
            with_body,
        });
    }

    pub(super) fn restored(
        dialog: Dialog,
        event: String,
        state: State,
        expires_at: Instant,
        expires_unix: u64,
        min_interval: Duration,
    ) -> Subscription {
        Subscription {
            dialog,
            event,
            state,
            reason: None,
            expires_at,
            expires_unix,
            min_interval,
            last_notify: None,
            in_flight: false,
            dirty: false,
            urgent: false,
            final_sent: false,
            removed: false,
            actions: VecDeque::new(),
        }
    }
}
