//! Page-mode instant messages (RFC 3428). A MESSAGE to one of our users is relayed by the
//! proxy to every registered contact, and the sender gets the recipient's final response;
//! bodies pass unchanged whatever their type. Here: the rules that are particular to MESSAGE.
//!
//! - A body larger than the configured limit is refused with `513 Message Too Large`
//!   (RFC 3428 §7 keeps page mode for small messages; larger content belongs in MSRP).
//! - Offline store-and-forward: a MESSAGE to a known user with no live binding is stored
//!   (within the per-user cap) and answered `202 Accepted` once the store has committed it
//!   (DESIGN.md "Acknowledge only what is durable"). A full mailbox is answered `480
//!   Temporarily Unavailable` with a reason phrase saying so: it is what the sender would
//!   get from a server that does not store, and it invites a later retry, which `486 Busy
//!   Here` (a user who declines) would not. [`offline`] delivers stored messages.

pub mod offline;

use crate::context::ServerContext;
use crate::metrics::OFFLINE_STORED;
use parley_sip::{HeaderName, Message};
use parley_store::{Address, NewOfflineMessage, StoreError, Timestamp};

/// Whether the body exceeds the configured limit (→ `513`).
pub fn body_too_large(request: &Message, limit: usize) -> bool {
    request.body.len() > limit
}

/// The record to store for a MESSAGE to `recipient`: the sender as a name-addr without its
/// tag (a delivery gets a fresh one), the body and its type unchanged. `None` if the From
/// header cannot be read (validation has checked it, so this does not happen).
pub fn offline_record(
    request: &Message,
    recipient: &Address,
    now: Timestamp,
) -> Option<NewOfflineMessage> {
    let from = request.from_header().ok()?;
    let mut sender = String::new();
    if let Some(display) = from.display {
        sender.push_str(display);
        sender.push(' ');
    }
    sender.push_str(&format!("<{}>", from.uri));
    for (name, value) in from.params.iter() {
        if name.eq_ignore_ascii_case("tag") {
            continue;
        }
        sender.push(';');
        sender.push_str(name);
        if let Some(v) = value {
            sender.push('=');
            sender.push_str(v);
        }
    }
    let content_type = request
        .headers
        .get_str(&HeaderName::ContentType)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        // RFC 3428 §5 makes text/plain the type every client understands.
        .unwrap_or_else(|| "text/plain".to_owned());
    Some(NewOfflineMessage {
        sender,
        recipient: recipient.clone(),
        content_type,
        body: request.body.to_vec(),
        received_at: now,
    })
}

/// Stores a MESSAGE for `recipient`, who has no live binding, and returns the answer:
/// `202` once stored, `480` when their mailbox is full, `500` when the store fails.
pub async fn store_offline(ctx: &ServerContext, request: &Message, recipient: &Address) -> Message {
    let Some(record) = offline_record(request, recipient, ctx.clock.now()) else {
        return ctx.response(request, 400, "Bad Request (unreadable From)");
    };
    let limit = ctx.messaging.offline_limit;
    match ctx.store(move |s| s.enqueue_message(&record, limit)).await {
        Ok(id) => {
            metrics::counter!(OFFLINE_STORED).increment(1);
            tracing::debug!(%id, %recipient, "message stored for offline delivery");
            // The recipient may have registered since their bindings were read.
            ctx.offline.wake(recipient.clone());
            ctx.response(request, 202, "Accepted")
        }
        Err(StoreError::QueueFull { .. }) => {
            ctx.response(request, 480, "Temporarily Unavailable (mailbox full)")
        }
        Err(e) => {
            tracing::warn!(error = %e, "offline message not stored");
            ctx.response(request, 500, "Server Internal Error (message not stored)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parley_sip::Limits;

    #[test]
    fn the_record_keeps_the_sender_without_tag_and_the_body_unchanged() {
        let text = "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\
                    From: \"Alice A\" <sip:alice@example.com>;tag=xyz;x-param=1\r\n\
                    To: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\
                    Content-Type: message/cpim\r\nContent-Length: 5\r\n\r\nhello";
        let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
        let bob = Address::parse("bob@example.com").unwrap();
        let r = offline_record(&m, &bob, Timestamp::from_unix_secs(5)).unwrap();
        assert_eq!(r.sender, "\"Alice A\" <sip:alice@example.com>;x-param=1");
        assert_eq!(r.content_type, "message/cpim");
        assert_eq!(r.body, b"hello");
        assert!(!body_too_large(&m, 5));
        assert!(body_too_large(&m, 4));
    }
}
