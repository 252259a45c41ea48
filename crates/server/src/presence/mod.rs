//! The presence server (RFC 3856, RFC 3903): PUBLISH to one of our users is handled here,
//! not forwarded.
//!
//! One task owns the presence state of every presentity ([`run`]): the publications of each
//! (a `parley_presence::Publications`, loaded from the store on first use). PUBLISHes are
//! applied one at a time, in arrival order; each change is committed to the
//! `PublicationStore` before the `200` (with `SIP-ETag` and `Expires`) is sent.
//!
//! Answers: `403` when the authenticated sender is not the presentity, `415` (with `Accept`)
//! for a body other than `application/pidf+xml`, `400` with the parser's reason for a PIDF
//! that does not parse, `412` for an unknown or expired `SIP-If-Match`, `423` with
//! `Min-Expires`; `Expires: 0` removes the publication.

use crate::context::ServerContext;
use parley_presence::publish::{
    Change, PublicationLimits, Publications, PublishError, PublishRequest,
};
use parley_presence::Presence;
use parley_presence::{EntityTag, EntityTagSource};
use parley_sip::{HeaderName, Message, TransactionId};
use parley_store::presence::{NewPublication, PublicationBody, PublicationUpdate};
use parley_store::{Address, Timestamp};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The event package served.
pub const PRESENCE: &str = "presence";
/// The only body accepted in a PUBLISH.
pub const PIDF: &str = "application/pidf+xml";
/// The `Allow-Events` value of the server.
pub const ALLOW_EVENTS: &str = "presence";

/// Work for the presence task.
#[derive(Debug)]
pub enum PresenceJob {
    /// A PUBLISH for `presentity`, its sender authenticated (when authentication is on).
    Publish {
        tx: TransactionId,
        request: Message,
        presentity: Address,
    },
}

/// The way to the presence task.
#[derive(Debug, Clone)]
pub struct PresenceHandle {
    jobs: mpsc::Sender<PresenceJob>,
}

impl PresenceHandle {
    pub fn channel() -> (PresenceHandle, mpsc::Receiver<PresenceJob>) {
        let (jobs, rx) = mpsc::channel(1024);
        (PresenceHandle { jobs }, rx)
    }

    /// Hands a job over; `false` when the task has stopped.
    pub async fn submit(&self, job: PresenceJob) -> bool {
        self.jobs.send(job).await.is_ok()
    }
}

/// Whether a request carries `Event: presence`.
pub fn is_presence(request: &Message) -> bool {
    matches!(request.event(), Ok(Some(e)) if e.package.eq_ignore_ascii_case(PRESENCE))
}

/// Random entity tags.
struct RandomTags;

impl EntityTagSource for RandomTags {
    fn next_tag(&mut self) -> EntityTag {
        EntityTag::new(&format!("{:016x}", rand::random::<u64>()))
    }
}

/// The state the task owns.
struct State {
    ctx: Arc<ServerContext>,
    presentities: HashMap<Address, Publications<Presence>>,
}

/// Runs the presence task until `stop` completes.
pub async fn run(
    ctx: Arc<ServerContext>,
    mut jobs: mpsc::Receiver<PresenceJob>,
    stop: impl Future<Output = ()>,
) {
    let mut state = State {
        ctx,
        presentities: HashMap::new(),
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            job = jobs.recv() => match job {
                Some(PresenceJob::Publish { tx, request, presentity }) => {
                    let answer = state.publish(&request, presentity).await;
                    state.ctx.respond(tx, answer).await;
                }
                None => return,
            },
        }
    }
}

fn now_millis(ctx: &ServerContext) -> i64 {
    i64::try_from(ctx.clock.now().as_unix_millis()).unwrap_or(i64::MAX)
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(ms).unwrap_or(0))
}

impl State {
    /// The publications of `presentity`, loaded from the store on first use.
    async fn publications(
        &mut self,
        presentity: &Address,
    ) -> Result<&mut Publications<Presence>, parley_store::StoreError> {
        if !self.presentities.contains_key(presentity) {
            let (key, now) = (presentity.clone(), self.ctx.clock.now());
            let stored = self
                .ctx
                .store(move |s| s.live_publications(&key, PRESENCE, now))
                .await?;
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
        }
        Ok(self
            .presentities
            .entry(presentity.clone())
            .or_insert_with(|| Publications::new(PublicationLimits::default())))
    }

    /// Applies one PUBLISH; the answer to send.
    async fn publish(&mut self, request: &Message, presentity: Address) -> Message {
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
                    return r;
                }
                match Presence::parse(bytes) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        let reason = format!("Bad Request ({e})").replace(['\r', '\n'], " ");
                        return ctx.response(request, 400, &reason);
                    }
                }
            }
        };
        let expires = match request.expires() {
            Ok(e) => e,
            Err(_) => return ctx.response(request, 400, "Bad Request (Expires)"),
        };
        let if_match = request
            .headers
            .get(&HeaderName::SipIfMatch)
            .and_then(|h| h.value_str())
            .map(EntityTag::new);
        let now = now_millis(&ctx);
        let pubs = match self.publications(&presentity).await {
            Ok(p) => p,
            Err(e) => return store_failure(&ctx, request, &e),
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
            Err(e) => return publish_refusal(&ctx, request, &e),
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
                self.presentities.remove(&presentity);
                return ctx.response(request, 412, "Conditional Request Failed");
            }
            Err(e) => return store_failure(&ctx, request, &e),
        }
        self.presentities.insert(presentity, next);
        let mut ok = ctx.response(request, 200, "OK");
        ok.headers.push(HeaderName::SipETag, etag);
        ok.headers
            .push(HeaderName::Expires, published.expires.to_string());
        ok
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

fn store_failure(ctx: &ServerContext, request: &Message, e: &parley_store::StoreError) -> Message {
    tracing::warn!(error = %e, "store unavailable");
    ctx.response(request, 500, "Server Internal Error (store unavailable)")
}
