//! PUBLISH (RFC 3903) for one of our users: parsed, applied one at a time, committed to the
//! `PublicationStore` before the `200`.

use super::{now_millis, store_failure, timestamp, Commit, RandomTags, State, PIDF, PRESENCE};
use crate::context::ServerContext;
use parley_presence::publish::{
    Change, PublicationLimits, Publications, PublishError, PublishRequest,
};
use parley_presence::{EntityTag, Presence};
use parley_sip::{HeaderName, Message, TransactionId};
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

    /// Applies one PUBLISH. A refusal is answered at once; an accepted PUBLISH changes the
    /// presentity's publications here and now (the next PUBLISH sees them) and is handed to
    /// the store without waiting: its `200` goes out from the store's commit, straight to
    /// the network loop, and only then do watchers learn the change (DESIGN.md "Acknowledge
    /// only what is durable"). The shard meanwhile takes the next job, so the PUBLISHes of
    /// every presentity share the store's group commits instead of one shard's one at a time.
    /// Should the write fail, the presentity's publications are read from the store again
    /// (see [`Commit::Failed`]).
    pub(super) async fn publish(
        &mut self,
        tx: TransactionId,
        request: Message,
        presentity: Address,
    ) {
        let (next, write, ok, alters) = match self.apply_publish(&request, &presentity).await {
            Ok(accepted) => accepted,
            Err(refusal) => return self.ctx.respond(tx, refusal).await,
        };
        self.presentities.insert(presentity.clone(), next);
        self.arm_publication_expiry(&presentity);
        // A watcher who subscribes before the commit is shown the new state in its first
        // NOTIFY anyway; those watching now are told after the commit.
        let tell = alters && self.by_resource.contains_key(&presentity);
        let (ctx, commits, runtime) =
            (self.ctx.clone(), self.commits.clone(), self.runtime.clone());
        let done = move |stored: Result<(), parley_store::StoreError>| {
            let answer = match stored {
                Ok(()) => {
                    if tell {
                        let _ = commits.send(Commit::Changed(presentity));
                    }
                    ok
                }
                Err(e) => {
                    let _ = commits.send(Commit::Failed(presentity));
                    match e {
                        parley_store::StoreError::PublicationNotFound(_)
                        | parley_store::StoreError::PublicationExpired(_) => {
                            ctx.response(&request, 412, "Conditional Request Failed")
                        }
                        e => store_failure(&ctx, &request, &e),
                    }
                }
            };
            ctx.respond_now(&runtime, tx, answer);
        };
        let store = &self.ctx.store;
        match write {
            Write::Insert(new) => {
                store.submit_insert_publication(new, Box::new(move |r| done(r.map(drop))));
            }
            Write::Update { etag, update, at } => store.submit_update_publication(
                etag,
                update,
                at,
                Box::new(move |r| done(r.map(drop))),
            ),
            Write::Remove { etag } => {
                store.submit_remove_publication(etag, Box::new(move |r| done(r.map(drop))));
            }
        }
    }

    /// A write for `presentity` failed: what the store holds is read again at the next use.
    pub(super) fn publication_write_failed(&mut self, presentity: &Address) {
        self.presentities.remove(presentity);
        self.stale.insert(presentity.clone());
        self.documents.remove(presentity);
        self.arm_publication_expiry(presentity);
    }

    /// Checks one PUBLISH against the presentity's publications: the publications after it,
    /// the store write that makes it durable, the `200` and whether it alters the state; or
    /// the refusal.
    async fn apply_publish(
        &mut self,
        request: &Message,
        presentity: &Address,
    ) -> Result<(Publications<Presence>, Write, Message, bool), Message> {
        let ctx = self.ctx.clone();
        let body = (!request.body.is_empty()).then(|| request.body.clone());
        let document = match &body {
            None => None,
            Some(bytes) => {
                let pidf = matches!(request.content_type(), Ok(Some(m))
                if PIDF.split_once('/').is_some_and(|(kind, subtype)| {
                    m.kind.eq_ignore_ascii_case(kind) && m.subtype.eq_ignore_ascii_case(subtype)
                }));
                if !pidf {
                    let mut r = ctx.response(request, 415, "Unsupported Media Type");
                    r.headers.push(HeaderName::Accept, PIDF);
                    return Err(r);
                }
                match Presence::parse(bytes) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        let reason = format!("Bad Request ({e})").replace(['\r', '\n'], " ");
                        return Err(ctx.response(request, 400, &reason));
                    }
                }
            }
        };
        let expires = match request.expires() {
            Ok(e) => e,
            Err(_) => return Err(ctx.response(request, 400, "Bad Request (Expires)")),
        };
        let if_match = request
            .headers
            .get(&HeaderName::SipIfMatch)
            .and_then(|h| h.value_str())
            .map(EntityTag::new);
        let now = now_millis(&ctx);
        let pubs = match self.publications(presentity).await {
            Ok(p) => p,
            Err(e) => return Err(store_failure(&ctx, request, &e)),
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
            Err(e) => return Err(publish_refusal(&ctx, request, &e)),
        };
        let expires_at = timestamp(now.saturating_add(i64::from(published.expires) * 1000));
        let etag = published.etag.as_str().to_owned();
        let old = if_match.map(|t| t.as_str().to_owned()).unwrap_or_default();
        let write = match published.change {
            Change::Created => Write::Insert(NewPublication {
                presentity: presentity.clone(),
                etag: etag.clone(),
                event: PRESENCE.to_owned(),
                content_type: PIDF.to_owned(),
                body: body.map(|b| b.to_vec()).unwrap_or_default(),
                expires_at,
                modified_at: timestamp(now),
            }),
            Change::Refreshed | Change::Modified => Write::Update {
                etag: old,
                update: PublicationUpdate {
                    new_etag: etag.clone(),
                    expires_at,
                    body: body.map(|b| PublicationBody {
                        content_type: PIDF.to_owned(),
                        body: b.to_vec(),
                    }),
                },
                at: timestamp(now),
            },
            Change::Removed => Write::Remove { etag: old },
        };
        let mut ok = ctx.response(request, 200, "OK");
        ok.headers.push(HeaderName::SipETag, etag);
        ok.headers
            .push(HeaderName::Expires, published.expires.to_string());
        Ok((next, write, ok, published.change.alters_state()))
    }
}

/// The store write of an accepted PUBLISH.
enum Write {
    Insert(NewPublication),
    Update {
        etag: String,
        update: PublicationUpdate,
        at: parley_store::Timestamp,
    },
    Remove {
        etag: String,
    },
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
