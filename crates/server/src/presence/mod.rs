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
pub use parley_presence::policy::SubscriptionPolicy;
use parley_presence::policy::{Decision, Party};
use parley_presence::publish::{
    Change, PublicationLimits, Publications, PublishError, PublishRequest,
};
use parley_presence::Presence;
use parley_presence::{EntityTag, EntityTagSource};
use parley_sip::subscription::{Authorization, NotifierAction, NotifierConfig, Subscription};
use parley_sip::{HeaderName, Message, Peer, TransactionId, Uri};
use std::collections::HashSet;
use std::time::Instant;
use watch::Watch;

pub mod watch;
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

/// Outcome of one NOTIFY: the subscription id and the final status.
type Outcome = (String, u16);

/// Work for the presence task.
#[derive(Debug)]
pub enum PresenceJob {
    /// A PUBLISH for `presentity`, its sender authenticated (when authentication is on).
    Publish {
        tx: TransactionId,
        request: Message,
        presentity: Address,
    },
    /// An initial SUBSCRIBE to `resource` by `watcher`.
    Subscribe {
        tx: TransactionId,
        request: Message,
        peer: Peer,
        resource: Address,
        watcher: Address,
    },
    /// The bindings of `aor` changed (a `200` to REGISTER).
    Registered { aor: Address },
    /// A SUBSCRIBE inside a dialog (refresh, unsubscribe).
    Resubscribe {
        tx: TransactionId,
        request: Message,
        peer: Peer,
    },
}

/// What the presence server needs from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSettings {
    /// Who may watch whom without the presentity's say.
    pub policy: SubscriptionPolicy,
    /// Subscription intervals and the least time between two NOTIFYs of one subscription.
    pub notifier: NotifierConfig,
    /// Subscriptions one watcher may hold.
    pub max_subscriptions: usize,
}

impl Default for PresenceSettings {
    fn default() -> Self {
        PresenceSettings {
            policy: SubscriptionPolicy::Allow,
            notifier: NotifierConfig::default(),
            max_subscriptions: 100,
        }
    }
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

    /// Tells the task that `aor`'s registrations changed; dropped when the queue is full.
    pub fn registration_changed(&self, aor: Address) {
        if self.jobs.try_send(PresenceJob::Registered { aor }).is_err() {
            tracing::debug!("presence queue full: registration change dropped");
        }
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
    watches: HashMap<String, Watch>,
    /// (Call-ID, local tag, remote tag) to subscription id.
    by_dialog: HashMap<(String, String, String), String>,
    by_resource: HashMap<Address, HashSet<String>>,
    outcomes: mpsc::Sender<Outcome>,
}

/// Runs the presence task until `stop` completes: restores the stored subscriptions, then
/// handles jobs, NOTIFY outcomes and subscription timers.
pub async fn run(
    ctx: Arc<ServerContext>,
    mut jobs: mpsc::Receiver<PresenceJob>,
    stop: impl Future<Output = ()>,
) {
    let (outcomes, mut outcome_rx) = mpsc::channel(1024);
    let mut state = State {
        ctx,
        presentities: HashMap::new(),
        watches: HashMap::new(),
        by_dialog: HashMap::new(),
        by_resource: HashMap::new(),
        outcomes,
    };
    state.restore().await;
    tokio::pin!(stop);
    loop {
        let wake = state
            .watches
            .values()
            .filter_map(|w| w.sub.poll_timeout())
            .min()
            .map(tokio::time::Instant::from_std);
        // Publications expire on the wall clock (RFC 3903 §4.1): their watchers learn it.
        let now_ms = now_millis(&state.ctx);
        let expiry = state
            .presentities
            .values()
            .filter_map(Publications::poll_timeout)
            .min()
            .map(|at| {
                let left = u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0);
                tokio::time::Instant::now() + std::time::Duration::from_millis(left)
            });
        let wake = match (wake, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut stop => return,
            () = timer => state.timers(),
            outcome = outcome_rx.recv() => if let Some((id, code)) = outcome {
                state.notify_outcome(&id, code).await;
            },
            job = jobs.recv() => match job {
                Some(PresenceJob::Publish { tx, request, presentity }) => {
                    let (answer, changed) = state.publish(&request, presentity.clone()).await;
                    state.ctx.respond(tx, answer).await;
                    if changed {
                        state.changed(&presentity);
                    }
                }
                Some(PresenceJob::Subscribe { tx, request, peer, resource, watcher }) => {
                    state.subscribe(tx, &request, &peer, resource, watcher).await;
                }
                Some(PresenceJob::Registered { aor }) => {
                    let publishing = state.presentities.get(&aor).is_some_and(|p| !p.is_empty());
                    if !publishing {
                        state.changed(&aor);
                    }
                }
                Some(PresenceJob::Resubscribe { tx, request, peer }) => {
                    state.resubscribe(tx, &request, &peer).await;
                }
                None => return,
            },
        }
        state.drain().await;
    }
}

fn instant_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn dialog_key(sub: &Subscription) -> (String, String, String) {
    let d = sub.dialog();
    (d.call_id.clone(), d.local_tag.clone(), d.remote_tag.clone())
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
    async fn publish(&mut self, request: &Message, presentity: Address) -> (Message, bool) {
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
                self.presentities.remove(&presentity);
                return (
                    ctx.response(request, 412, "Conditional Request Failed"),
                    false,
                );
            }
            Err(e) => return (store_failure(&ctx, request, &e), false),
        }
        self.presentities.insert(presentity, next);
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

fn store_failure(ctx: &ServerContext, request: &Message, e: &parley_store::StoreError) -> Message {
    tracing::warn!(error = %e, "store unavailable");
    ctx.response(request, 500, "Server Internal Error (store unavailable)")
}

impl State {
    fn settings(&self) -> &PresenceSettings {
        &self.ctx.presence_settings
    }

    /// Loads the live subscriptions of the store (after a restart): they are notified again
    /// at the next change, without re-subscribing.
    async fn restore(&mut self) {
        let now = self.ctx.clock.now();
        let stored = match self
            .ctx
            .store(move |s| s.load_live_subscriptions(now))
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "subscriptions not restored");
                return;
            }
        };
        let interval = self.settings().notifier.min_notify_interval;
        for s in stored {
            if !s.event.eq_ignore_ascii_case(PRESENCE) {
                continue;
            }
            let record = watch::record_of(&s);
            match Subscription::from_record(instant_now(), now.as_unix_secs(), &record, interval) {
                Ok(sub) => self.insert(Watch {
                    polite_block: false,
                    id: s.id.clone(),
                    sub,
                    watcher: s.watcher.clone(),
                    resource: s.resource.clone(),
                    source: s.source.clone(),
                    live_connection: false,
                    created_at: s.created_at,
                }),
                Err(e) => tracing::debug!(id = %s.id, error = %e, "stored subscription dropped"),
            }
        }
        tracing::info!(
            count = self.watches.len(),
            "presence subscriptions restored"
        );
    }

    fn insert(&mut self, w: Watch) {
        self.by_dialog.insert(dialog_key(&w.sub), w.id.clone());
        self.by_resource
            .entry(w.resource.clone())
            .or_default()
            .insert(w.id.clone());
        self.watches.insert(w.id.clone(), w);
    }

    fn forget(&mut self, id: &str) -> Option<Watch> {
        let w = self.watches.remove(id)?;
        self.by_dialog.remove(&dialog_key(&w.sub));
        if let Some(set) = self.by_resource.get_mut(&w.resource) {
            set.remove(id);
            if set.is_empty() {
                self.by_resource.remove(&w.resource);
            }
        }
        Some(w)
    }

    /// An initial SUBSCRIBE: policy, acceptance, persistence, then `200` and the first NOTIFY.
    async fn subscribe(
        &mut self,
        tx: TransactionId,
        request: &Message,
        peer: &Peer,
        resource: Address,
        watcher: Address,
    ) {
        let ctx = self.ctx.clone();
        let decision = ctx.presence_policy.decide(
            Party::new(watcher.user(), watcher.domain()),
            Party::new(resource.user(), resource.domain()),
            None,
        );
        let authorization = match decision {
            Decision::Allow(_) => Authorization::Allow,
            Decision::Pending => Authorization::Pending,
            // A polite block is accepted but shows only a closed document (RFC 5025).
            Decision::Deny { polite: true } => Authorization::Allow,
            Decision::Deny { polite: false } => Authorization::Reject,
        };
        let local_tag = crate::context::new_tag();
        let Some(local_target) = local_contact(&ctx, peer, &resource) else {
            let r = ctx.response(request, 500, "Server Internal Error (no listener)");
            return ctx.respond(tx, r).await;
        };
        let now = ctx.clock.now();
        let accepted = Subscription::accept(
            instant_now(),
            now.as_unix_secs(),
            request,
            &self.settings().notifier,
            &local_tag,
            local_target,
            peer.transport == parley_sip::Transport::Tls,
            authorization,
        );
        let (sub, mut ok) = match accepted {
            Ok(a) => a,
            Err(refusal) => {
                let mut r = *refusal;
                with_server_headers(&ctx, &mut r);
                return ctx.respond(tx, r).await;
            }
        };
        let w = Watch {
            polite_block: decision == (Decision::Deny { polite: true }),
            id: format!("{:016x}", rand::random::<u64>()),
            sub,
            watcher,
            resource,
            source: source_of(peer),
            live_connection: true,
            created_at: now,
        };
        let record = w.to_store();
        let limit = self.settings().max_subscriptions;
        let persistent = w.sub.state() != parley_sip::subscription::State::Terminated;
        if persistent {
            let stored = ctx
                .store(move |s| s.insert_subscription(&record, limit, now))
                .await;
            if let Err(e) = stored {
                let r = match e {
                    parley_store::StoreError::SubscriptionLimit { .. } => {
                        ctx.response(request, 403, "Forbidden (too many subscriptions)")
                    }
                    e => store_failure(&ctx, request, &e),
                };
                return ctx.respond(tx, r).await;
            }
        }
        with_server_headers(&ctx, &mut ok);
        ctx.respond(tx, ok).await;
        self.insert(w);
    }

    /// A SUBSCRIBE in an existing dialog: refresh or unsubscribe.
    async fn resubscribe(&mut self, tx: TransactionId, request: &Message, peer: &Peer) {
        let ctx = self.ctx.clone();
        let key = match (
            request.call_id(),
            request.to_header(),
            request.from_header(),
        ) {
            (Ok(c), Ok(to), Ok(from)) => (
                c.to_owned(),
                to.tag().unwrap_or_default().to_owned(),
                from.tag().unwrap_or_default().to_owned(),
            ),
            _ => {
                let r = ctx.response(request, 400, "Bad Request");
                return ctx.respond(tx, r).await;
            }
        };
        let Some(id) = self.by_dialog.get(&key).cloned() else {
            let r = ctx.response(request, 481, "Subscription Does Not Exist");
            return ctx.respond(tx, r).await;
        };
        let config = self.settings().notifier.clone();
        let now = ctx.clock.now();
        let Some(w) = self.watches.get_mut(&id) else {
            return;
        };
        let mut answer =
            w.sub
                .handle_subscribe(instant_now(), now.as_unix_secs(), request, &config);
        if answer.status() == Some(200) {
            w.source = source_of(peer);
            w.live_connection = true;
            let record = w.to_store();
            let live = w.sub.state() != parley_sip::subscription::State::Terminated;
            let stored = ctx
                .store(move |s| {
                    if live {
                        s.remove_subscription(&record.id)?;
                        s.insert_subscription(&record, usize::MAX, now)
                    } else {
                        Ok(())
                    }
                })
                .await;
            if let Err(e) = stored {
                answer = store_failure(&ctx, request, &e);
            }
        }
        with_server_headers(&ctx, &mut answer);
        ctx.respond(tx, answer).await;
    }

    /// The state of `resource` changed: every watcher learns it (rate-controlled).
    fn changed(&mut self, resource: &Address) {
        let Some(ids) = self.by_resource.get(resource) else {
            return;
        };
        let now = instant_now();
        for id in ids {
            if let Some(w) = self.watches.get_mut(id) {
                w.sub.state_changed(now);
            }
        }
    }

    fn timers(&mut self) {
        let now_ms = now_millis(&self.ctx);
        let expired: Vec<Address> = self
            .presentities
            .iter_mut()
            .filter_map(|(who, p)| (!p.expire(now_ms).is_empty()).then(|| who.clone()))
            .collect();
        for who in &expired {
            self.changed(who);
        }
        let now = instant_now();
        for w in self.watches.values_mut() {
            if w.sub.poll_timeout().is_some_and(|t| t <= now) {
                w.sub.handle_timeout(now);
            }
        }
    }

    async fn notify_outcome(&mut self, id: &str, code: u16) {
        let now = instant_now();
        if let Some(w) = self.watches.get_mut(id) {
            match code {
                408 => w.sub.handle_notify_timeout(now),
                code => w.sub.handle_notify_response(now, code),
            }
        }
    }

    /// Carries out what the subscriptions want: NOTIFYs (each on its own task, so a slow
    /// watcher delays nobody) and removals.
    async fn drain(&mut self) {
        let ids: Vec<String> = self.watches.keys().cloned().collect();
        for id in ids {
            while let Some(w) = self.watches.get_mut(&id) {
                let Some(action) = w.sub.poll_action() else {
                    break;
                };
                match action {
                    NotifierAction::SendNotify {
                        mut request,
                        with_body,
                        ..
                    } => {
                        let resource = w.resource.clone();
                        let connection = match (&w.source, w.live_connection) {
                            (Some(s), true) => s.connection_id.and_then(|c| {
                                let t = parley_sip::Transport::from_via_token(&s.transport)?;
                                Some((parley_sip::ConnectionId(c), t))
                            }),
                            _ => None,
                        };
                        let polite = w.polite_block;
                        if with_body {
                            let doc = match polite {
                                true => parley_presence::policy::polite_block_document(&format!(
                                    "sip:{resource}"
                                )),
                                false => self.document(&resource).await,
                            };
                            request.set_body(PIDF, doc.to_xml());
                        }
                        request.headers.push(HeaderName::AllowEvents, ALLOW_EVENTS);
                        let (ctx, outcomes, id) =
                            (self.ctx.clone(), self.outcomes.clone(), id.clone());
                        tokio::spawn(async move {
                            let code =
                                watch::send_notify(&ctx, id.clone(), request, connection).await;
                            let _ = outcomes.send((id, code)).await;
                        });
                    }
                    NotifierAction::Remove => {
                        self.forget(&id);
                        let key = id.clone();
                        if let Err(e) = self.ctx.store(move |s| s.remove_subscription(&key)).await {
                            tracing::warn!(error = %e, "subscription not removed from the store");
                        }
                        break;
                    }
                }
            }
        }
    }

    /// What watchers of `resource` see now.
    async fn document(&mut self, resource: &Address) -> Presence {
        let presentity = format!("sip:{resource}");
        let now = now_millis(&self.ctx);
        let empty = match self.publications(resource).await {
            Ok(p) => {
                p.expire(now);
                p.is_empty()
            }
            Err(_) => true,
        };
        let registered = if empty {
            let (key, at) = (resource.clone(), self.ctx.clock.now());
            self.ctx
                .store(move |s| s.live_bindings(&key, at))
                .await
                .is_ok_and(|b| !b.is_empty())
        } else {
            false
        };
        match self.presentities.get(resource) {
            Some(p) => parley_presence::presence_for(&presentity, p, registered),
            None => parley_presence::default_document(&presentity, registered),
        }
    }
}

/// Our Contact in a subscription dialog: the resource's user part at the listener the
/// SUBSCRIBE arrived on, so that in-dialog requests come back to us.
fn local_contact(ctx: &ServerContext, peer: &Peer, resource: &Address) -> Option<Uri> {
    let uri = crate::inbound::record_route_uri(ctx, peer);
    let host = uri.strip_prefix("sip:")?.trim_end_matches(";lr");
    Uri::parse(&format!("sip:{}@{host}", resource.user())).ok()
}

fn source_of(peer: &Peer) -> Option<parley_store::Source> {
    Some(parley_store::Source {
        transport: peer.transport.via_token().to_ascii_lowercase(),
        address: peer.remote,
        connection_id: peer.connection.map(|c| c.0),
    })
}

fn with_server_headers(ctx: &ServerContext, r: &mut Message) {
    r.headers.push(HeaderName::Server, ctx.server_token.clone());
    r.headers.push(HeaderName::AllowEvents, ALLOW_EVENTS);
}
