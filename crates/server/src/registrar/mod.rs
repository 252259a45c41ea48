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
pub mod location;
pub mod rules;

use crate::context::ServerContext;
use crate::metrics::REGISTRATIONS;
use parley_sip::header::date::format_date;
use parley_sip::{HeaderName, Message, Peer, TransactionId, Uri};
use parley_store::{Address, Binding, Registered, Source, StoreError};
use rules::{contact_value, plan, Origin, RegisterRequest};
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

    /// Hands a job over without waiting: the job back when the queue is full (`None` when
    /// the registrar has stopped).
    pub fn try_submit(&self, job: RegisterJob) -> Result<(), Option<Box<RegisterJob>>> {
        self.0.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(job) => Some(Box::new(job)),
            mpsc::error::TrySendError::Closed(_) => None,
        })
    }
}

/// The registrar task: runs REGISTERs one address of record at a time until `shutdown`.
pub async fn run(
    ctx: Arc<ServerContext>,
    mut jobs: mpsc::Receiver<RegisterJob>,
    shutdown: impl Future<Output = ()>,
) {
    let mut busy: HashMap<Address, VecDeque<RegisterJob>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Address>();
    let runtime = tokio::runtime::Handle::current();
    let start = |job: RegisterJob| {
        let done = done_tx.clone();
        begin(&ctx, &runtime, job, move |aor| {
            let _ = done.send(aor);
        });
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(job) = jobs.recv() => match busy.get_mut(&job.aor) {
                Some(queue) if queue.len() >= MAX_QUEUED_PER_AOR => {
                    let mut r = ctx.response(&job.request, 503, "Service Unavailable");
                    r.headers.push(HeaderName::Other(bytes::Bytes::from_static(b"Retry-After")), "5");
                    ctx.respond_now(&runtime, job.tx, r);
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

/// Starts one REGISTER: what needs no store is checked here, the rest is one job on the
/// store's writer, whose completion answers it from the commit, so no task waits for the
/// disk and the only thread woken afterwards is the driver's. `finished` runs once it is
/// answered.
fn begin(
    ctx: &Arc<ServerContext>,
    runtime: &tokio::runtime::Handle,
    job: RegisterJob,
    finished: impl FnOnce(Address) + Send + 'static,
) {
    let RegisterJob {
        tx,
        request,
        peer,
        aor,
    } = job;
    let wanted = match read_request(ctx, &request) {
        Ok(w) => w,
        Err((code, reason)) => {
            answer(
                ctx,
                runtime,
                tx,
                ctx.response(&request, code, reason),
                &aor,
                false,
            );
            return finished(aor);
        }
    };
    let now = ctx.clock.now();
    let origin = Origin {
        aor: aor.clone(),
        source: Source {
            transport: peer.transport.via_token().to_ascii_lowercase(),
            address: peer.remote,
            connection_id: peer.connection.map(|c| c.0),
        },
        now,
    };
    let plan_of = {
        let (wanted, origin, settings) = (wanted.clone(), origin.clone(), ctx.registrar.clone());
        move |existing: &[Binding]| plan(&wanted, existing, &origin, &settings)
    };
    let (ctx_done, runtime) = (ctx.clone(), runtime.clone());
    let key = aor.clone();
    ctx.store.register(
        &key,
        now,
        Box::new(move |existing| plan_of(existing).unwrap_or_default()),
        Box::new(move |outcome| {
            let ctx = ctx_done;
            let (response, stored_messages) =
                complete(&ctx, &request, &peer, &wanted, &origin, outcome);
            answer(&ctx, &runtime, tx, response, &aor, stored_messages);
            finished(aor);
        }),
    );
}

/// What a REGISTER asks for, or the status and reason to refuse it with.
fn read_request(
    ctx: &ServerContext,
    request: &Message,
) -> Result<RegisterRequest, (u16, &'static str)> {
    RegisterRequest::read_refusing(request, |uri| points_at_us(ctx, uri))
        .map_err(|r| (r.code, r.reason))
}

/// Sends the answer to a REGISTER; after a `200` leaving bindings, wakes the delivery of the
/// user's stored messages if there are any.
fn answer(
    ctx: &ServerContext,
    runtime: &tokio::runtime::Handle,
    tx: TransactionId,
    response: Message,
    aor: &Address,
    stored_messages: bool,
) {
    let code = response.status().unwrap_or(500);
    metrics::counter!(REGISTRATIONS, "class" => crate::metrics::class_label(code)).increment(1);
    ctx.respond_now(runtime, tx, response);
    if code == 200 {
        ctx.presence.registration_changed(aor.clone());
    }
    if stored_messages {
        ctx.offline.wake(aor.clone());
    }
}

/// The answer to a REGISTER once the store's job is done, and whether the user has bindings
/// after it and messages waiting for them.
fn complete(
    ctx: &ServerContext,
    request: &Message,
    peer: &Peer,
    wanted: &RegisterRequest,
    origin: &Origin,
    outcome: Result<Registered, StoreError>,
) -> (Message, bool) {
    let Registered {
        bindings,
        previous,
        changed,
        messages_waiting,
    } = match outcome {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "bindings not updated");
            let r = ctx.response(request, 500, "Server Internal Error (bindings not stored)");
            return (r, false);
        }
    };
    if !changed {
        if let Err(refusal) = plan(wanted, &bindings, origin, &ctx.registrar) {
            let mut r = ctx.response(request, refusal.code, refusal.reason);
            if let Some(min) = refusal.min_expires {
                r.headers.push(HeaderName::MinExpires, min.to_string());
            }
            return (r, false);
        }
    }
    let aor = &origin.aor;
    ctx.location.set(aor, &bindings);
    tracing::debug!(%aor, bindings = bindings.len(), remote = %peer.remote, "registered");
    let before = if changed { &previous } else { &bindings };
    ctx.flows.registered(aor, peer, before, &bindings);
    let mut ok = ctx.response(request, 200, "OK");
    for b in &bindings {
        ok.headers
            .push(HeaderName::Contact, contact_value(b, origin.now));
    }
    ok.headers
        .push(HeaderName::Date, format_date(origin.now.as_unix_secs()));
    (ok, messages_waiting)
}

/// Whether a contact names this server (a domain of ours, or one of our listeners).
fn points_at_us(ctx: &ServerContext, uri: &Uri) -> bool {
    let Some((_, host, port)) = crate::proxy::next_hop::uri_transport(uri) else {
        return false;
    };
    ctx.domains.is_local(&host, Some(port))
}

/// Deletes expired bindings every `purge_interval` until `shutdown`, and forgets expired
/// nonce counts. Expired bindings are ignored by every read from the moment they expire;
/// this only reclaims their space.
pub async fn purge(ctx: Arc<ServerContext>, shutdown: impl Future<Output = ()>) {
    let interval = ctx.registrar.purge_interval;
    crate::periodic::every(interval, shutdown, || {
        let ctx = ctx.clone();
        async move {
            let now = ctx.clock.now();
            ctx.flows.purge(now);
            match ctx.store(move |s| s.purge_expired_bindings(now)).await {
                Ok(gone) if !gone.is_empty() => {
                    ctx.location.forget_expired(now);
                    tracing::debug!(count = gone.len(), "expired bindings deleted");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot purge expired bindings"),
            }
            if let Some(auth) = &ctx.auth {
                auth.purge(now.as_unix_secs());
            }
        }
    })
    .await;
}
