//! Delivery of stored messages (RFC 3428 store-and-forward): one task owns the set of
//! recipients being delivered to, so that a recipient never gets two deliveries at once
//! (which would duplicate or reorder messages).
//!
//! A delivery to a recipient is woken by their registration (after its `200`), by a message
//! stored for them, and by the retry timer for messages whose retry time has come. It sends
//! the recipient's stored messages one by one, oldest first, each as a new MESSAGE from the
//! original sender with the original time in `Date`, through the proxy to all their
//! contacts, and waits for the final response:
//! - a `2xx` deletes the message, and the next one is sent;
//! - anything else records a failed attempt with a retry time (doubling from
//!   `retry_interval` up to `max_retry_interval`) and ends the delivery, so that later
//!   messages never overtake it;
//! - a recipient with no contact left keeps their messages for their next registration.
//!
//! No loops (anchors.md §3.15): a delivery is an internal request of the proxy
//! ([`crate::proxy::Origin::Internal`]); the proxy never stores anything, and the offline path
//! of the request handler is only taken by requests received from the network that have not
//! already passed through us.

use crate::context::ServerContext;
use crate::metrics::{OFFLINE_DELIVERED, OFFLINE_FAILED_ATTEMPTS};
use crate::proxy::next_hop::binding_target;
use crate::proxy::{Forward, Origin};
use parley_sip::header::date::format_date;
use parley_sip::{HeaderName, Message, Method, Uri};
use parley_store::{Address, OfflineMessage, Timestamp};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Wake-ups waiting for the delivery task; when full, a wake-up is dropped (the retry timer
/// or the next registration makes up for it).
const WAKE_QUEUE: usize = 4096;
/// Recipients with due messages woken per retry round.
const DUE_BATCH: usize = 256;

/// Sends wake-ups to the delivery task.
#[derive(Debug, Clone)]
pub struct OfflineHandle(mpsc::Sender<Wake>);

/// What the delivery task is told.
#[derive(Debug)]
enum Wake {
    /// Deliver what is stored for this recipient.
    Recipient(Address),
    /// A delivery ended.
    Done(Address),
}

impl OfflineHandle {
    pub fn channel() -> (OfflineHandle, OfflineReceiver) {
        let (tx, rx) = mpsc::channel(WAKE_QUEUE);
        (OfflineHandle(tx.clone()), OfflineReceiver { rx, done: tx })
    }

    /// Asks for the stored messages of `recipient` to be delivered now.
    pub fn wake(&self, recipient: Address) {
        if self.0.try_send(Wake::Recipient(recipient)).is_err() {
            tracing::debug!("offline delivery queue full: wake-up dropped");
        }
    }
}

/// The receiving side, for [`run`].
#[derive(Debug)]
pub struct OfflineReceiver {
    rx: mpsc::Receiver<Wake>,
    done: mpsc::Sender<Wake>,
}

/// The delivery task: runs until `shutdown` completes.
pub async fn run(
    ctx: Arc<ServerContext>,
    receiver: OfflineReceiver,
    shutdown: impl Future<Output = ()>,
) {
    let OfflineReceiver { mut rx, done } = receiver;
    let mut running: HashSet<Address> = HashSet::new();
    let mut again: HashSet<Address> = HashSet::new();
    let period = ctx.messaging.retry_interval.max(Duration::from_secs(1));
    let mut retry = tokio::time::interval(period);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let start = |aor: Address, running: &mut HashSet<Address>| {
        running.insert(aor.clone());
        let (ctx, done) = (ctx.clone(), done.clone());
        tokio::spawn(async move {
            deliver(&ctx, &aor).await;
            // The task only stops at shutdown, when nobody needs to know.
            let _ = done.send(Wake::Done(aor)).await;
        });
    };
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(wake) = rx.recv() => match wake {
                Wake::Recipient(aor) => {
                    if running.contains(&aor) {
                        // Messages may have been stored after the running delivery read them.
                        again.insert(aor);
                    } else {
                        start(aor, &mut running);
                    }
                }
                Wake::Done(aor) => {
                    running.remove(&aor);
                    if again.remove(&aor) {
                        start(aor, &mut running);
                    }
                }
            },
            _ = retry.tick() => {
                let now = ctx.clock.now();
                match ctx.store(move |s| s.due_messages(now, DUE_BATCH)).await {
                    Ok(due) => {
                        let recipients: HashSet<Address> =
                            due.into_iter().map(|m| m.recipient).collect();
                        for aor in recipients {
                            if !running.contains(&aor) {
                                start(aor, &mut running);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read due offline messages"),
                }
            }
        }
    }
}

/// Delivers the stored messages of `aor` in order, stopping at the first failure.
async fn deliver(ctx: &ServerContext, aor: &Address) {
    let recipient = aor.clone();
    let pending = match ctx.store(move |s| s.pending_messages(&recipient)).await {
        Ok(p) => p,
        Err(e) => return tracing::warn!(error = %e, "cannot read offline messages"),
    };
    if pending.is_empty() {
        return;
    }
    let recipient = aor.clone();
    let now = ctx.clock.now();
    let bindings = match ctx.store(move |s| s.live_bindings(&recipient, now)).await {
        Ok(b) => b,
        Err(e) => return tracing::warn!(error = %e, "cannot read bindings"),
    };
    let mut targets = Vec::with_capacity(bindings.len());
    for b in &bindings {
        targets.extend(binding_target(&ctx.resolver, b).await);
    }
    if targets.is_empty() {
        // Nobody to deliver to: wait for the next registration rather than the timer.
        let waiting: Vec<_> = pending
            .iter()
            .filter(|m| m.next_attempt_at.is_some())
            .map(|m| m.id)
            .collect();
        for id in waiting {
            let _ = ctx
                .store(move |s| s.record_delivery_attempt(id, None))
                .await;
        }
        return;
    }
    for message in pending {
        let Some(request) = delivery_request(&message, ctx.domains.names().first()) else {
            tracing::warn!(id = %message.id, "stored message cannot be delivered: bad sender");
            continue;
        };
        let (reply, status) = oneshot::channel();
        let forward = Forward {
            origin: Origin::Internal { reply },
            request,
            targets: targets.clone(),
            record_route: None,
        };
        if ctx.proxy.forward(forward).await.is_err() {
            return;
        }
        let code = status.await.unwrap_or(500);
        let id = message.id;
        if (200..300).contains(&code) {
            metrics::counter!(OFFLINE_DELIVERED).increment(1);
            if let Err(e) = ctx.store(move |s| s.delete_message(id)).await {
                // Kept: it will be delivered again (at least once, never lost).
                tracing::warn!(%id, error = %e, "delivered message not deleted");
                return;
            }
            continue;
        }
        metrics::counter!(OFFLINE_FAILED_ATTEMPTS).increment(1);
        let retry_at = retry_time(
            ctx.clock.now(),
            message.attempts,
            ctx.messaging.retry_interval,
            ctx.messaging.max_retry_interval,
        );
        tracing::debug!(%id, code, "offline delivery failed; retrying later");
        if let Err(e) = ctx
            .store(move |s| s.record_delivery_attempt(id, Some(retry_at)))
            .await
        {
            tracing::warn!(%id, error = %e, "delivery attempt not recorded");
        }
        return;
    }
}

/// When to try again after `attempts` earlier failures (and this one).
pub fn retry_time(now: Timestamp, attempts: u32, first: Duration, max: Duration) -> Timestamp {
    let factor = 1u64 << attempts.min(20);
    let wait = first
        .as_millis()
        .saturating_mul(u128::from(factor))
        .min(max.as_millis().max(first.as_millis()));
    now.saturating_add_millis(u64::try_from(wait).unwrap_or(u64::MAX))
}

/// The MESSAGE delivering a stored message (RFC 3428 §4 with the `Date` of the original,
/// RFC 3261 §20.17): from the original sender to the recipient's address of record, with a
/// fresh Call-ID and From tag. `domain` names us in the Call-ID.
pub fn delivery_request(message: &OfflineMessage, domain: Option<&String>) -> Option<Message> {
    let to = Uri::parse(&format!("sip:{}", message.recipient)).ok()?;
    // The sender was stored as a name-addr without tag; check it still parses.
    parley_sip::header::NameAddr::parse(&message.sender, "From").ok()?;
    let mut request = Message::request(Method::Message, to.clone());
    let h = &mut request.headers;
    h.push(HeaderName::MaxForwards, "70");
    h.push(
        HeaderName::From,
        format!("{};tag={}", message.sender, crate::context::new_tag()),
    );
    h.push(HeaderName::To, format!("<{to}>"));
    h.push(
        HeaderName::CallId,
        format!(
            "{:016x}-{}@{}",
            rand::random::<u64>(),
            message.id,
            domain.map_or("parley", String::as_str)
        ),
    );
    h.push(HeaderName::CSeq, "1 MESSAGE");
    h.push(
        HeaderName::Date,
        format_date(message.received_at.as_unix_secs()),
    );
    if message.body.is_empty() {
        request.set_content_length();
    } else {
        request.set_body(&message.content_type, message.body.clone());
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_store::MessageId;

    #[test]
    fn retries_double_up_to_the_maximum() {
        let now = Timestamp::from_unix_secs(1000);
        let (first, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let at = |attempts| retry_time(now, attempts, first, max).as_unix_secs() - 1000;
        assert_eq!([at(0), at(1), at(2)], [30, 60, 120]);
        assert_eq!(at(10), 3600);
        assert_eq!(at(u32::MAX), 3600);
    }

    #[test]
    fn the_delivery_carries_the_original_sender_time_and_body() {
        let stored = OfflineMessage {
            id: MessageId(7),
            sender: "\"Alice\" <sip:alice@example.com>".into(),
            recipient: Address::parse("bob@example.com").unwrap(),
            content_type: "text/plain;charset=UTF-8".into(),
            body: "héllo".as_bytes().to_vec(),
            received_at: Timestamp::from_unix_secs(1_700_000_000),
            attempts: 0,
            next_attempt_at: None,
        };
        let m = delivery_request(&stored, Some(&"example.com".to_owned())).unwrap();
        assert_eq!(m.uri().unwrap().to_string(), "sip:bob@example.com");
        let from = m.from_header().unwrap();
        assert_eq!(from.uri.to_string(), "sip:alice@example.com");
        assert!(from.tag().is_some());
        assert_eq!(
            m.headers.get_str(&HeaderName::Date),
            Some("Tue, 14 Nov 2023 22:13:20 GMT")
        );
        assert_eq!(&m.body[..], "héllo".as_bytes());
        assert_eq!(
            m.headers.get_str(&HeaderName::ContentType),
            Some("text/plain;charset=UTF-8")
        );
        // Valid once the endpoint has added its Via.
        let mut sent = Message::parse(m.to_bytes(), &parley_sip::Limits::default()).unwrap();
        sent.headers
            .push_front(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-x");
        sent.validate().unwrap();
    }
}
