//! PUBLISH (RFC 3903) for one of our users: parsed, applied one at a time, committed to the
//! `PublicationStore` before the `200`.

use super::{now_millis, store_failure, timestamp, RandomTags, State, PIDF, PRESENCE};
use crate::context::ServerContext;
use parley_presence::publish::{
    Change, PublicationLimits, Publications, PublishError, PublishRequest,
};
use parley_presence::{EntityTag, Presence};
use parley_sip::{HeaderName, Message};
use parley_store::presence::{NewPublication, PublicationBody, PublicationUpdate};
use parley_store::Address;
impl State {
    /// The publications of `presentity`: all live ones are read at start; those of a
    /// presentity whose memory proved stale (or all, if that read failed) are read from the
    /// store on first use.
    pub(super) async fn publications(
        &mut self,
        presentity: &Address,
    ) -> Result<&mut Publications<Presence>, parley_store::StoreError> {
        let stale = self.stale.contains(presentity);
        if stale || (!self.complete && !self.presentities.contains_key(presentity)) {
            let (key, now) = (presentity.clone(), self.ctx.clock.now());
            let stored = self
                .ctx
                .store(move |s| s.live_publications(&key, PRESENCE, now))
                .await?;
            self.stale.remove(presentity);
            self.restore_publications(presentity, stored);
        }
        Ok(self
            .presentities
            .entry(presentity.clone())
            .or_insert_with(|| Publications::new(PublicationLimits::default())))
    }

    /// Takes over the stored publications of `presentity`.
    pub(super) fn restore_publications(
        &mut self,
        presentity: &Address,
        stored: Vec<parley_store::presence::Publication>,
    ) {
        let mut pubs = Publications::new(PublicationLimits::default());
        for p in stored {
            let Ok(document) = Presence::parse(&p.body) else {
                continue;
            };
            pubs.restore(parley_presence::publish::Publication {
                etag: EntityTag::new(&p.etag),
                document,
                expires_at: i64::try_from(p.expires_at.as_unix_millis()).unwrap_or(i64::MAX),
                modified_at: i64::try_from(p.modified_at.as_unix_millis()).unwrap_or(0),
                sequence: p.sequence,
            });
        }
        self.presentities.insert(presentity.clone(), pubs);
        self.documents.remove(presentity);
        self.arm_publication_expiry(presentity);
    }

    /// Sets the wake-up for the earliest publication expiry of `presentity`.
    pub(super) fn arm_publication_expiry(&mut self, presentity: &Address) {
        let at = self
            .presentities
            .get(presentity)
            .and_then(Publications::poll_timeout);
        self.publication_expiry.set(presentity, at);
    }

    /// Applies one PUBLISH; the answer to send.
    pub(super) async fn publish(
        &mut self,
        request: &Message,
        presentity: Address,
    ) -> (Message, bool) {
        let answer = self.apply_publish(request, presentity).await;
        let changed = answer.1;
        (answer.0, changed)
    }

    async fn apply_publish(&mut self, request: &Message, presentity: Address) -> (Message, bool) {
        let ctx = self.ctx.clone();
        let body = (!request.body.is_empty()).then(|| request.body.clone());
        let document = match &body {
            None => None,
            Some(bytes) => {
                let pidf = matches!(request.content_type(), Ok(Some(m))
                    if format!("{}/{}", m.kind, m.subtype).eq_ignore_ascii_case(PIDF));
                if !pidf {
                    let mut r = ctx.response(request, 415, "Unsupported Media Type");
                    r.headers.push(HeaderName::Accept, PIDF);
                    return (r, false);
                }
                match Presence::parse(bytes) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        let reason = format!("Bad Request ({e})").replace(['\r', '\n'], " ");
                        return (ctx.response(request, 400, &reason), false);
                    }
                }
            }
        };
        let expires = match request.expires() {
            Ok(e) => e,
            Err(_) => return (ctx.response(request, 400, "Bad Request (Expires)"), false),
        };
        let if_match = request
            .headers
            .get(&HeaderName::SipIfMatch)
            .and_then(|h| h.value_str())
            .map(EntityTag::new);
        let now = now_millis(&ctx);
        let pubs = match self.publications(&presentity).await {
            Ok(p) => p,
            Err(e) => return (store_failure(&ctx, request, &e), false),
        };
        pubs.expire(now);
        let mut next = pubs.clone();
        let published = match next.handle_publish(
            now,
            PublishRequest {
                if_match: if_match.clone(),
                expires,
                body: document,
            },
            &mut RandomTags,
        ) {
            Ok(p) => p,
            Err(e) => return (publish_refusal(&ctx, request, &e), false),
        };
        let expires_at = timestamp(now.saturating_add(i64::from(published.expires) * 1000));
        let etag = published.etag.as_str().to_owned();
        let old = if_match.map(|t| t.as_str().to_owned()).unwrap_or_default();
        let stored = match published.change {
            Change::Created => {
                let new = NewPublication {
                    presentity: presentity.clone(),
                    etag: etag.clone(),
                    event: PRESENCE.to_owned(),
                    content_type: PIDF.to_owned(),
                    body: body.map(|b| b.to_vec()).unwrap_or_default(),
                    expires_at,
                    modified_at: timestamp(now),
                };
                ctx.store(move |s| s.insert_publication(&new).map(|_| ()))
                    .await
            }
            Change::Refreshed | Change::Modified => {
                let update = PublicationUpdate {
                    new_etag: etag.clone(),
                    expires_at,
                    body: body.map(|b| PublicationBody {
                        content_type: PIDF.to_owned(),
                        body: b.to_vec(),
                    }),
                };
                let at = timestamp(now);
                ctx.store(move |s| s.update_publication(&old, &update, at).map(|_| ()))
                    .await
            }
            Change::Removed => {
                ctx.store(move |s| s.remove_publication(&old).map(|_| ()))
                    .await
            }
        };
        match stored {
            Ok(()) => {}
            Err(
                parley_store::StoreError::PublicationNotFound(_)
                | parley_store::StoreError::PublicationExpired(_),
            ) => {
                // What the store holds is read again at the next use.
                self.presentities.remove(&presentity);
                self.stale.insert(presentity.clone());
                self.documents.remove(&presentity);
                self.arm_publication_expiry(&presentity);
                return (
                    ctx.response(request, 412, "Conditional Request Failed"),
                    false,
                );
            }
            Err(e) => return (store_failure(&ctx, request, &e), false),
        }
        self.presentities.insert(presentity.clone(), next);
        self.arm_publication_expiry(&presentity);
        let mut ok = ctx.response(request, 200, "OK");
        ok.headers.push(HeaderName::SipETag, etag);
        ok.headers
            .push(HeaderName::Expires, published.expires.to_string());
        (ok, published.change.alters_state())
    }
}

fn publish_refusal(ctx: &ServerContext, request: &Message, e: &PublishError) -> Message {
    match e {
        PublishError::UnknownEntityTag(_) => {
            ctx.response(request, 412, "Conditional Request Failed")
        }
        PublishError::IntervalTooBrief(b) => {
            let mut r = ctx.response(request, 423, "Interval Too Brief");
            r.headers
                .push(HeaderName::MinExpires, b.min_expires.to_string());
            r
        }
        other => ctx.response(request, other.status_code(), &format!("{other}")),
    }
}
