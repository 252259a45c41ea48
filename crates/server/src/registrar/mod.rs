//! The registrar (RFC 3261 §10.3): bindings of our users' addresses of record to their
//! contacts, kept in the store and answered only once committed.
//!
//! The request handler authenticates a REGISTER and checks its address of record (steps
//! 1–5, `crate::inbound`); this module applies steps 6–8 ([`rules`]). REGISTERs for one
//! address of record are applied one at a time, in arrival order, by [`run`]: the check of
//! Call-ID and CSeq against the stored bindings and the update must not interleave with
//! another REGISTER's. REGISTERs for different addresses run concurrently (and share the
//! store's group commits).
//!
//! Each binding remembers where its REGISTER came from (transport, address, connection), so
//! that requests for the user can go back the same way (`crate::proxy::next_hop`).
//! Bindings stop counting when they expire (every read filters by time), and a periodic
//! task deletes them ([`purge`]).
//!
//! Which open connection reaches each registered user agent is also kept in memory
//! ([`flows`]), for the requests the server itself sends inside dialogs
//! (`crate::in_dialog`).

pub mod flows;
pub mod rules;

use crate::context::ServerContext;
use crate::metrics::REGISTRATIONS;
use parley_sip::header::date::format_date;
use parley_sip::{HeaderName, Message, Peer, TransactionId, Uri};
use parley_store::{Address, Source};
use rules::{contact_value, plan, Origin, RegisterRequest, RequestedContacts};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

/// REGISTERs waiting for the registrar task.
const JOB_QUEUE: usize = 4096;
/// REGISTERs waiting behind another for the same address of record; more are refused with
/// `503` (a client that sends that many at once is broken or hostile).
const MAX_QUEUED_PER_AOR: usize = 16;

/// An authenticated REGISTER for `aor`.
#[derive(Debug)]
pub struct RegisterJob {
    pub tx: TransactionId,
    pub request: Message,
    pub peer: Peer,
    pub aor: Address,
}

/// Sends REGISTERs to the registrar task.
#[derive(Debug, Clone)]
pub struct RegistrarHandle(mpsc::Sender<RegisterJob>);

impl RegistrarHandle {
    pub fn channel() -> (RegistrarHandle, mpsc::Receiver<RegisterJob>) {
        let (tx, rx) = mpsc::channel(JOB_QUEUE);
        (RegistrarHandle(tx), rx)
    }

    /// Queues a REGISTER; `false` if the registrar has stopped.
    pub async fn submit(&self, job: RegisterJob) -> bool {
        self.0.send(job).await.is_ok()
    }
}

/// The registrar task: runs REGISTERs one address of record at a time until `shutdown`.
pub async fn run(
    ctx: Arc<ServerContext>,
    mut jobs: mpsc::Receiver<RegisterJob>,
    shutdown: impl Future<Output = ()>,
) {
    let mut busy: HashMap<Address, VecDeque<RegisterJob>> = HashMap::new();
    // At most one message per job in flight: bounded by the job queue and the per-AOR cap.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Address>();
    let start = |job: RegisterJob| {
        let (ctx, done) = (ctx.clone(), done_tx.clone());
        tokio::spawn(async move {
            let aor = job.aor.clone();
            register(&ctx, job).await;
            let _ = done.send(aor);
        });
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(job) = jobs.recv() => match busy.get_mut(&job.aor) {
                Some(queue) if queue.len() >= MAX_QUEUED_PER_AOR => {
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let mut r = ctx.response(&job.request, 503, "Service Unavailable");
                        r.headers.push(HeaderName::Other(bytes::Bytes::from_static(b"Retry-After")), "5");
                        ctx.respond(job.tx, r).await;
                    });
                }
                Some(queue) => queue.push_back(job),
                None => {
                    busy.insert(job.aor.clone(), VecDeque::new());
                    start(job);
                }
            },
            Some(aor) = done_rx.recv() => {
                let next = busy.get_mut(&aor).and_then(VecDeque::pop_front);
                match next {
                    Some(job) => start(job),
                    None => {
                        busy.remove(&aor);
                    }
                }
            }
        }
    }
}

/// Applies one REGISTER and answers it; after a `200` leaving bindings, wakes the delivery
/// of the user's stored messages.
async fn register(ctx: &ServerContext, job: RegisterJob) {
    let RegisterJob {
        tx,
        request,
        peer,
        aor,
    } = job;
    let (response, online) = apply(ctx, &request, &peer, &aor).await;
    let code = response.status().unwrap_or(500);
    metrics::counter!(REGISTRATIONS, "class" => crate::metrics::class_label(code)).increment(1);
    ctx.respond(tx, response).await;
    if code == 200 {
        // Watchers of a user who publishes nothing see `open` while registered.
        ctx.presence.registration_changed(aor.clone());
    }
    if online {
        ctx.offline.wake(aor);
    }
}

/// The answer to a REGISTER, and whether the user has bindings after it.
async fn apply(
    ctx: &ServerContext,
    request: &Message,
    peer: &Peer,
    aor: &Address,
) -> (Message, bool) {
    let refuse = |code, reason: &str| (ctx.response(request, code, reason), false);
    let wanted = match RegisterRequest::read(request) {
        Ok(w) => w,
        Err(r) => return refuse(r.code, r.reason),
    };
    if let RequestedContacts::List(list) = &wanted.contacts {
        if list.iter().any(|c| points_at_us(ctx, &c.uri)) {
            // Requests for the user would come straight back to us (a loop).
            return refuse(403, "Forbidden (contact points at this server)");
        }
    }
    let now = ctx.clock.now();
    let key = aor.clone();
    let existing = match ctx.store(move |s| s.live_bindings(&key, now)).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read bindings");
            return refuse(500, "Server Internal Error (store unavailable)");
        }
    };
    let origin = Origin {
        aor: aor.clone(),
        source: Source {
            transport: peer.transport.via_token().to_ascii_lowercase(),
            address: peer.remote,
            connection_id: peer.connection.map(|c| c.0),
        },
        now,
    };
    let changes = match plan(&wanted, &existing, &origin, &ctx.registrar) {
        Ok(c) => c,
        Err(refusal) => {
            let mut r = ctx.response(request, refusal.code, refusal.reason);
            if let Some(min) = refusal.min_expires {
                r.headers.push(HeaderName::MinExpires, min.to_string());
            }
            return (r, false);
        }
    };
    let bindings = if changes.is_empty() {
        existing.clone()
    } else {
        let key = aor.clone();
        match ctx
            .store(move |s| s.update_bindings(&key, &changes, now))
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "bindings not updated");
                return refuse(500, "Server Internal Error (bindings not stored)");
            }
        }
    };
    tracing::debug!(%aor, bindings = bindings.len(), remote = %peer.remote, "registered");
    // Before the 200: a client that has it may be sent requests over its new connection.
    ctx.flows.registered(aor, peer, &existing, &bindings);
    let mut ok = ctx.response(request, 200, "OK");
    for b in &bindings {
        ok.headers.push(HeaderName::Contact, contact_value(b, now));
    }
    ok.headers
        .push(HeaderName::Date, format_date(now.as_unix_secs()));
    (ok, !bindings.is_empty())
}

/// Whether a contact names this server (a domain of ours, or one of our listeners).
fn points_at_us(ctx: &ServerContext, contact: &str) -> bool {
    let Ok(uri) = Uri::parse(contact) else {
        return false;
    };
    let Some((_, host, port)) = crate::proxy::next_hop::uri_transport(&uri) else {
        return false;
    };
    ctx.domains.is_local(&host, Some(port))
}

/// Deletes expired bindings every `purge_interval` until `shutdown`, and forgets expired
/// nonce counts. Expired bindings are ignored by every read from the moment they expire;
/// this only reclaims their space.
pub async fn purge(ctx: Arc<ServerContext>, shutdown: impl Future<Output = ()>) {
    let mut tick = tokio::time::interval(
        ctx.registrar
            .purge_interval
            .max(std::time::Duration::from_secs(1)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {
                let now = ctx.clock.now();
                ctx.flows.purge(now);
                match ctx.store(move |s| s.purge_expired_bindings(now)).await {
                    Ok(gone) if !gone.is_empty() => tracing::debug!(count = gone.len(), "expired bindings deleted"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot purge expired bindings"),
                }
                if let Some(auth) = &ctx.auth {
                    auth.purge(now.as_unix_secs());
                }
            }
        }
    }
}
