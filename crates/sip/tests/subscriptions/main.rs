//! Subscriptions (RFC 6665) and their dialogs (RFC 3261 §12), one scenario per module, run
//! in virtual time: a watcher alice@192.0.2.10 subscribes to presence of bob through a
//! presence server at 192.0.2.1 whose notifier state machine is driven directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorization;
mod expiry;
mod initial;
mod notify_failure;
mod persistence;
mod rate_control;
mod subscriber;

use parley_sip::subscription::{
    Authorization, NotifierAction, NotifierConfig, State, Subscription,
};
use parley_sip::{Message, Uri};
use parley_test_support::{messages::parse, VirtualClock};
use std::time::Duration;

/// Unix time at the clock's start.
pub const UNIX0: u64 = 1_700_000_000;

pub fn unix(clock: &VirtualClock) -> u64 {
    UNIX0 + clock.elapsed().as_secs()
}

pub fn config() -> NotifierConfig {
    NotifierConfig {
        min_expires: 60,
        max_expires: 3600,
        default_expires: 3600,
        min_notify_interval: Duration::from_secs(1),
    }
}

/// A SUBSCRIBE from alice with `expires` (none when `None`), CSeq `cseq`, To tag `to_tag`.
pub fn subscribe(expires: Option<u32>, cseq: u32, to_tag: Option<&str>) -> Message {
    let expires = expires.map_or(String::new(), |e| format!("Expires: {e}\r\n"));
    let tag = to_tag.map_or(String::new(), |t| format!(";tag={t}"));
    parse(
        format!(
            "SUBSCRIBE sip:bob@example.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@example.test>;tag=w1\r\n\
             To: <sip:bob@example.test>{tag}\r\n\
             Call-ID: sub1@192.0.2.10\r\n\
             CSeq: {cseq} SUBSCRIBE\r\n\
             Contact: <sip:alice@192.0.2.10>\r\n\
             Event: presence\r\n\
             {expires}Content-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
}

pub fn server_contact() -> Uri {
    Uri::parse("sip:pres@192.0.2.1").unwrap()
}

/// Accepts the initial SUBSCRIBE at the clock's time.
pub fn accept(
    clock: &VirtualClock,
    expires: Option<u32>,
    auth: Authorization,
) -> (Subscription, Message) {
    Subscription::accept(
        clock.now(),
        unix(clock),
        &subscribe(expires, 1, None),
        &config(),
        "n1",
        server_contact(),
        false,
        auth,
    )
    .map_err(|r| r.to_bytes())
    .unwrap()
}

/// The NOTIFYs among the queued actions: (Subscription-State value, state, with body);
/// a `Remove` shows up as `("REMOVE", Terminated, false)`.
pub fn drain(sub: &mut Subscription) -> Vec<(String, State, bool)> {
    let mut out = Vec::new();
    while let Some(a) = sub.poll_action() {
        match a {
            NotifierAction::SendNotify {
                request,
                state,
                with_body,
            } => {
                let v = request
                    .headers
                    .get_str(&parley_sip::HeaderName::SubscriptionState)
                    .unwrap()
                    .to_owned();
                out.push((v, state, with_body));
            }
            NotifierAction::Remove => out.push(("REMOVE".into(), State::Terminated, false)),
        }
    }
    out
}
