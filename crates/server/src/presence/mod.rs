//! The presence server (RFC 3856, RFC 3903, RFC 6665): PUBLISH and SUBSCRIBE for one of our
//! users are handled here, not forwarded; so are SUBSCRIBEs to a user's watcher information
//! (RFC 3857, RFC 3858).
//!
//! [`SHARDS`] tasks own the presence state ([`run`]), each that of the presentities whose user
//! part hashes to it: the publications of each (a `parley_presence::Publications`, all live
//! ones read at start), the subscriptions (presence and winfo), the binding and
//! waiting-watcher timers. Everything that changes that state is a [`PresenceJob`] handled in
//! arrival order by the presentity's shard; each change is committed to the store before it
//! is acknowledged, and the shards' writes share the store's group commits.
//!
//! Work per event is proportional to what it touches (issue 5): only subscriptions given an
//! input are asked for their actions, timeouts wait in deadline queues (`index`), and a
//! presentity's PIDF body is printed once per change for all its watchers.
//!
//! - `publish`: PUBLISH (`403` unless from the presentity, `415`, `400` with
//!   the parser's reason, `412`, `423`; `Expires: 0` removes).
//! - `subscribe`: SUBSCRIBE for both packages (`406` when `Accept` excludes the body type,
//!   `403` for another user's winfo), refresh and unsubscribe.
//! - `authorize`: who may watch whom, from the stored decisions through the `presence`
//!   crate's `PolicyEngine`; a changed decision acts at once.
//! - `winfo`, `waiting`: the watcher-information documents and the waiting state.
//! - `registration`: a timer at the earliest binding expiry of watched presentities.
//! - `index`: the subscriptions of a shard, their deadlines and dialogs.
//! - [`api`]: the presentity's HTTP API to answer watchers.

use crate::context::ServerContext;
use bytes::Bytes;
use index::{DialogIndex, Key, WallDeadlines, Watches};
use parley_presence::policy::Decision;
pub use parley_presence::policy::SubscriptionPolicy;
use parley_presence::publish::Publications;
use parley_presence::winfo::{WatcherEvent, WinfoNotifier};
use parley_presence::Presence;
use parley_presence::{EntityTag, EntityTagSource};
use parley_sip::subscription::{NotifierAction, NotifierConfig, State as SubState, Subscription};
use parley_sip::{HeaderName, Message, Peer, TransactionId, Uri};
use parley_store::{Address, Timestamp};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use watch::{Watch, WatchKind, WinfoFeed};

pub mod api;
mod authorize;
mod index;
mod publish;
mod purge;
mod registration;
mod subscribe;
mod waiting;
pub mod watch;
mod winfo;

pub use purge::purge;
pub use winfo::WatcherRow;

/// The presence event package (RFC 3856).
pub const PRESENCE: &str = "presence";
/// The watcher information event package (RFC 3857).
pub const WINFO: &str = "presence.winfo";
/// The only body accepted in a PUBLISH.
pub const PIDF: &str = "application/pidf+xml";
/// The body of `presence.winfo` NOTIFYs (RFC 3858).
pub const WATCHERINFO: &str = parley_presence::winfo::WATCHERINFO_CONTENT_TYPE;
/// The `Allow-Events` value of the server.
pub const ALLOW_EVENTS: &str = "presence, presence.winfo";

/// The event packages the presence task serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    /// `presence` (RFC 3856).
    Presence,
    /// `presence.winfo` (RFC 3857).
    Winfo,
}

impl Package {
    /// The package of a request's `Event` header, if it is one of ours.
    pub fn of(request: &Message) -> Option<Package> {
        match request.event() {
            Ok(Some(e)) => Package::named(e.package),
            _ => None,
        }
    }

    /// The package named `token` (an `Event` value's package, parameters cut off).
    pub fn named(token: &str) -> Option<Package> {
        let token = token.split(';').next().unwrap_or_default().trim();
        if token.eq_ignore_ascii_case(PRESENCE) {
            Some(Package::Presence)
        } else if token.eq_ignore_ascii_case(WINFO) {
            Some(Package::Winfo)
        } else {
            None
        }
    }

    /// The body type of the package's NOTIFYs.
    pub fn body_type(self) -> &'static str {
        match self {
            Package::Presence => PIDF,
            Package::Winfo => WATCHERINFO,
        }
    }
}

/// Whether the `Accept` header of a SUBSCRIBE allows `body_type` (RFC 3261 §20.1; an absent
/// or empty header allows the package default, RFC 6665 §4.2.1). Media ranges `*/*` and
/// `type/*` count.
pub fn accepts(request: &Message, body_type: &str) -> bool {
    let mut values = request
        .headers
        .all(&HeaderName::Accept)
        .filter_map(|h| h.value_str())
        .flat_map(|v| v.split(','))
        .map(|range| range.split(';').next().unwrap_or_default().trim())
        .filter(|range| !range.is_empty())
        .peekable();
    if values.peek().is_none() {
        return true;
    }
    let kind = body_type.split('/').next().unwrap_or_default();
    values.any(|range| {
        range == "*/*"
            || range.eq_ignore_ascii_case(body_type)
            || range
                .strip_suffix("/*")
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    })
}

/// Outcome of one NOTIFY: the subscription and the final status.
type Outcome = (Key, u16);

/// Work for the presence task.
#[derive(Debug)]
pub enum PresenceJob {
    /// A PUBLISH for `presentity`, its sender authenticated (when authentication is on).
    Publish {
        tx: TransactionId,
        request: Message,
        presentity: Address,
    },
    /// An initial SUBSCRIBE to `resource` by `watcher` for `package`.
    Subscribe {
        tx: TransactionId,
        request: Message,
        peer: Peer,
        resource: Address,
        watcher: Address,
        package: Package,
    },
    /// The bindings of `aor` changed (a `200` to REGISTER).
    Registered { aor: Address },
    /// A SUBSCRIBE inside a dialog (refresh, unsubscribe).
    Resubscribe {
        tx: TransactionId,
        request: Message,
        peer: Peer,
    },
    /// `presentity` stored or forgot a decision about `watcher`: decide its live subscriptions
    /// again.
    Reconsider {
        presentity: Address,
        watcher: Address,
        done: oneshot::Sender<()>,
    },
    /// The watchers of `presentity` now, as watcher information reports them.
    Watchers {
        presentity: Address,
        reply: oneshot::Sender<Vec<WatcherRow>>,
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

/// How many tasks share the presentities. Each awaits its own store writes, so this many
/// PUBLISHes or SUBSCRIBEs can share one commit of the store's group commit.
pub const SHARDS: usize = 16;

/// The shard of a presentity: by its user part, which is also the user part of our Contact in
/// its subscription dialogs (`local_contact`), so that a SUBSCRIBE in a dialog finds the
/// shard from its Request-URI alone.
fn shard_of(presentity: &Address) -> usize {
    shard_of_user(presentity.user())
}

fn shard_of_user(user: &str) -> usize {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let h = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(h % SHARDS as u64).unwrap_or(0)
}

/// The way to the presence tasks.
#[derive(Debug, Clone)]
pub struct PresenceHandle {
    shards: Arc<[mpsc::Sender<PresenceJob>]>,
}

/// The job queues of the presence tasks, one per shard.
#[derive(Debug)]
pub struct PresenceJobs(Vec<mpsc::Receiver<PresenceJob>>);

impl PresenceHandle {
    pub fn channel() -> (PresenceHandle, PresenceJobs) {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..SHARDS).map(|_| mpsc::channel(1024)).unzip();
        (
            PresenceHandle {
                shards: senders.into(),
            },
            PresenceJobs(receivers),
        )
    }

    fn shard(&self, job: &PresenceJob) -> Option<&mpsc::Sender<PresenceJob>> {
        let index = match job {
            PresenceJob::Publish { presentity, .. } => shard_of(presentity),
            PresenceJob::Subscribe { resource, .. } => shard_of(resource),
            PresenceJob::Registered { aor } => shard_of(aor),
            PresenceJob::Resubscribe { request, .. } => {
                let user = request
                    .uri()
                    .and_then(|u| u.as_sip())
                    .and_then(|u| u.user_unescaped());
                shard_of_user(user.as_deref().unwrap_or_default())
            }
            PresenceJob::Reconsider { presentity, .. } => shard_of(presentity),
            PresenceJob::Watchers { presentity, .. } => shard_of(presentity),
        };
        self.shards.get(index)
    }

    /// Tells the task that `aor`'s registrations changed; dropped when the queue is full.
    pub fn registration_changed(&self, aor: Address) {
        let job = PresenceJob::Registered { aor };
        let sent = self.shard(&job).is_some_and(|s| s.try_send(job).is_ok());
        if !sent {
            tracing::debug!("presence queue full: registration change dropped");
        }
    }

    /// Hands a job over; `false` when the task has stopped.
    pub async fn submit(&self, job: PresenceJob) -> bool {
        match self.shard(&job) {
            Some(s) => s.send(job).await.is_ok(),
            None => false,
        }
    }
}

/// Whether a request carries `Event: presence` or `Event: presence.winfo` (a package the
/// presence task serves).
pub fn is_presence(request: &Message) -> bool {
    Package::of(request).is_some()
}

/// Entity tags from [`ordered_id`].
struct RandomTags;

impl EntityTagSource for RandomTags {
    fn next_tag(&mut self) -> EntityTag {
        EntityTag::new(&ordered_id())
    }
}

/// A fresh entity tag or subscription id: unique and in increasing order, so that the rows
/// stored together in one group commit sit side by side in the store's index of them (one
/// page written for a batch, not one per row: random keys land anywhere), with a random
/// tail so that they are not guessable. The order is a counter starting at the wall clock
/// in microseconds: ahead of all of a previous run's ids unless it made more than a million
/// a second.
fn ordered_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static START: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(0))
    });
    let seq = start.wrapping_add(COUNT.fetch_add(1, Ordering::Relaxed));
    format!("{seq:013x}{:07x}", rand::random::<u32>() >> 4)
}

/// The state the task owns.
struct State {
    ctx: Arc<ServerContext>,
    presentities: HashMap<Address, Publications<Presence>>,
    /// `presentities` holds every presentity with live publications (read at start).
    complete: bool,
    /// Presentities whose publications are to be read from the store again.
    stale: HashSet<Address>,
    /// When the earliest publication of each presentity expires.
    publication_expiry: WallDeadlines<Address>,
    /// The presence document of each watched presentity, printed once for all its watchers
    /// who see it in full; dropped when it changes.
    documents: HashMap<Address, Bytes>,
    watches: Watches,
    /// (Call-ID, local tag, remote tag) to subscription.
    by_dialog: DialogIndex,
    /// The presence subscriptions of each presentity.
    by_resource: HashMap<Address, HashSet<Key>>,
    /// The winfo subscriptions of each presentity (its own).
    winfo_of: HashMap<Address, HashSet<Key>>,
    /// When the earliest binding of a watched presentity expires.
    bindings: registration::BindingExpiry,
    /// Watchers whose pending subscription lapsed, still waiting for an answer.
    waiting: waiting::Waiting,
    /// The stored decisions of presentities about their watchers, each presentity's read
    /// whole on first need.
    authorizations: HashMap<Address, HashMap<Address, parley_store::presence::WatcherDecision>>,
    outcomes: mpsc::Sender<Outcome>,
    /// Told by the store's writer thread what became of the writes handed to it without
    /// waiting.
    commits: mpsc::UnboundedSender<Commit>,
    /// Where the store's writer thread answers from when the network loop's queue is full.
    runtime: tokio::runtime::Handle,
    /// Initial SUBSCRIBEs accepted, their subscriptions being stored, with their requests
    /// (to answer from should the store refuse).
    pending: HashMap<u64, (subscribe::Accepted, Message)>,
    next_pending: u64,
    /// Counts the presentities' decisions taken (`reconsider`): a subscription stored
    /// meanwhile is decided again.
    decisions_epoch: u64,
}

/// What the store's commit of a write made without waiting means for the shard.
#[derive(Debug)]
enum Commit {
    /// A PUBLISH of this watched presentity altering its state is durable: its watchers
    /// learn it.
    Changed(Address),
    /// A PUBLISH of this presentity was not stored: its publications in memory are not what
    /// the store holds.
    Failed(Address),
    /// The subscription of a pending initial SUBSCRIBE is stored (or not).
    Subscribed(u64, Result<(), parley_store::StoreError>),
}

/// What a shard restores: the stored subscriptions of its presentities, the stored decisions
/// about their watchers, and their earliest binding expiries.
#[derive(Default)]
struct Restored {
    /// The store could be read: what follows is all there is.
    complete: bool,
    /// The live `presence` publications, by presentity.
    publications: HashMap<Address, Vec<parley_store::presence::Publication>>,
    subscriptions: Vec<parley_store::presence::Subscription>,
    /// By presentity, then watcher.
    decisions: HashMap<Address, HashMap<Address, parley_store::presence::WatcherDecision>>,
    bindings: HashMap<Address, i64>,
}

/// Runs the presence tasks until `stop` completes: restores the stored subscriptions (read
/// once, handed to the shard of each presentity), then each shard handles its jobs, NOTIFY
/// outcomes and subscription timers.
pub async fn run(ctx: Arc<ServerContext>, jobs: PresenceJobs, stop: impl Future<Output = ()>) {
    let mut restored = load(&ctx).await;
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let mut shards = Vec::new();
    let mut counts = Vec::new();
    for (i, jobs) in jobs.0.into_iter().enumerate() {
        let part = restored.get_mut(i).map(std::mem::take).unwrap_or_default();
        let mut stopped = stopped.clone();
        let stop = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let (count, counted) = oneshot::channel();
        counts.push(counted);
        shards.push(tokio::spawn(run_shard(
            ctx.clone(),
            jobs,
            part,
            count,
            stop,
        )));
    }
    drop(restored);
    tokio::pin!(stop);
    let restored = async {
        let mut total = 0;
        for c in counts {
            total += c.await.unwrap_or(0);
        }
        total
    };
    tokio::select! {
        () = &mut stop => {},
        count = restored => {
            // Operators (and the interop checks) wait for this line after a restart.
            tracing::info!(count, "presence subscriptions restored");
            stop.await;
        }
    }
    let _ = stopping.send(true);
    for shard in shards {
        let _ = shard.await;
    }
}

/// Reads what the shards restore, in one store call of a few bulk reads: a node holding a
/// million subscriptions must be back in service within seconds (issue 5), not wait for a
/// query per presentity. The store reads the subscriptions on every core, already split by
/// shard.
async fn load(ctx: &ServerContext) -> Vec<Restored> {
    let now = ctx.clock.now();
    let loaded = ctx
        .store(move |s| {
            let subs = s.load_live_subscriptions_sharded(now, SHARDS, &shard_of)?;
            let decisions = s.load_authorizations()?;
            let bindings = s.load_binding_expiries(now)?;
            let publications = s.load_live_publications(now)?;
            Ok((subs, decisions, bindings, publications))
        })
        .await;
    let mut shards: Vec<Restored> = (0..SHARDS).map(|_| Restored::default()).collect();
    let (subs, decisions, bindings, publications) = match loaded {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "subscriptions not restored");
            return shards;
        }
    };
    let mut count = 0;
    for (shard, subs) in shards.iter_mut().zip(subs) {
        count += subs.len();
        shard.subscriptions = subs;
    }
    for a in decisions {
        if let Some(shard) = shards.get_mut(shard_of(&a.presentity)) {
            shard
                .decisions
                .entry(a.presentity)
                .or_default()
                .insert(a.watcher, a.decision);
        }
    }
    for (who, at) in bindings {
        let at = i64::try_from(at.as_unix_millis()).unwrap_or(i64::MAX);
        if let Some(shard) = shards.get_mut(shard_of(&who)) {
            shard.bindings.insert(who, at);
        }
    }
    for p in publications {
        if p.event != PRESENCE {
            continue;
        }
        if let Some(shard) = shards.get_mut(shard_of(&p.presentity)) {
            shard
                .publications
                .entry(p.presentity.clone())
                .or_default()
                .push(p);
        }
    }
    for shard in &mut shards {
        shard.complete = true;
    }
    tracing::debug!(count, "presence subscriptions loaded");
    shards
}

/// One shard: the presentities whose user part hashes to it, and their subscriptions.
async fn run_shard(
    ctx: Arc<ServerContext>,
    mut jobs: mpsc::Receiver<PresenceJob>,
    restored: Restored,
    count: oneshot::Sender<usize>,
    stop: impl Future<Output = ()>,
) {
    let (outcomes, mut outcome_rx) = mpsc::channel(1024);
    let (commits, mut commit_rx) = mpsc::unbounded_channel();
    let mut state = State {
        ctx,
        presentities: HashMap::new(),
        complete: false,
        stale: HashSet::new(),
        publication_expiry: WallDeadlines::default(),
        documents: HashMap::new(),
        watches: Watches::default(),
        by_dialog: DialogIndex::default(),
        by_resource: HashMap::new(),
        winfo_of: HashMap::new(),
        bindings: registration::BindingExpiry::default(),
        waiting: waiting::Waiting::default(),
        authorizations: HashMap::new(),
        outcomes,
        commits,
        runtime: tokio::runtime::Handle::current(),
        pending: HashMap::new(),
        next_pending: 0,
        decisions_epoch: 0,
    };
    // Off the runtime's worker: the shards rebuild their state on every core at once, and
    // the network loop keeps answering meanwhile.
    let mut state = match tokio::task::spawn_blocking(move || {
        state.restore(restored);
        state
    })
    .await
    {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "presence shard not restored");
            return;
        }
    };
    state.drain().await;
    let _ = count.send(state.watches.len());
    tokio::pin!(stop);
    loop {
        let wake = state
            .watches
            .next_deadline()
            .map(tokio::time::Instant::from_std);
        // Publications and bindings expire on the wall clock (RFC 3903 §4.1): their
        // watchers learn it.
        let now_ms = now_millis(&state.ctx);
        let expiry = state
            .publication_expiry
            .next()
            .into_iter()
            .chain(state.bindings.poll_timeout())
            .chain(state.waiting.poll_timeout())
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
            () = timer => state.timers().await,
            outcome = outcome_rx.recv() => if let Some((key, code)) = outcome {
                state.notify_outcome(key, code);
            },
            Some(commit) = commit_rx.recv() => state.committed(commit).await,
            job = jobs.recv() => match job {
                Some(job) => state.job(job).await,
                None => return,
            },
        }
        state.drain().await;
    }
}

fn instant_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn now_millis(ctx: &ServerContext) -> i64 {
    i64::try_from(ctx.clock.now().as_unix_millis()).unwrap_or(i64::MAX)
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(ms).unwrap_or(0))
}

/// A store write handed to the store's writer, waited for without a thread of the blocking
/// pool: the writer calls back from its commit (one thread hop instead of two).
async fn durable<T: Send + 'static>(
    ctx: &ServerContext,
    submit: impl FnOnce(&dyn parley_store::Store, parley_store::Done<T>),
) -> Result<T, parley_store::StoreError> {
    let (done, committed) = oneshot::channel();
    submit(
        &*ctx.store,
        Box::new(move |r| {
            let _ = done.send(r);
        }),
    );
    committed
        .await
        .unwrap_or(Err(parley_store::StoreError::Closed))
}

fn store_failure(ctx: &ServerContext, request: &Message, e: &parley_store::StoreError) -> Message {
    tracing::warn!(error = %e, "store unavailable");
    ctx.response(request, 500, "Server Internal Error (store unavailable)")
}

impl State {
    fn settings(&self) -> &PresenceSettings {
        &self.ctx.presence_settings
    }

    async fn job(&mut self, job: PresenceJob) {
        match job {
            PresenceJob::Publish {
                tx,
                request,
                presentity,
            } => self.publish(tx, request, presentity).await,
            PresenceJob::Subscribe {
                tx,
                request,
                peer,
                resource,
                watcher,
                package,
            } => {
                self.subscribe(tx, request, &peer, resource, watcher, package)
                    .await;
            }
            PresenceJob::Registered { aor } => {
                let publishing = self.presentities.get(&aor).is_some_and(|p| !p.is_empty());
                if !publishing {
                    self.changed(&aor);
                }
                self.track_bindings(&aor).await;
            }
            PresenceJob::Resubscribe { tx, request, peer } => {
                self.resubscribe(tx, &request, &peer).await;
            }
            PresenceJob::Reconsider {
                presentity,
                watcher,
                done,
            } => {
                self.reconsider(&presentity, &watcher).await;
                let _ = done.send(());
            }
            PresenceJob::Watchers { presentity, reply } => {
                let _ = reply.send(self.watcher_rows(&presentity));
            }
        }
    }

    async fn committed(&mut self, commit: Commit) {
        match commit {
            Commit::Changed(presentity) => {
                self.changed(&presentity);
                self.track_bindings(&presentity).await;
            }
            Commit::Failed(presentity) => self.publication_write_failed(&presentity),
            Commit::Subscribed(n, stored) => self.subscription_stored(n, stored).await,
        }
    }

    /// Takes over the live subscriptions of the store (after a restart): they are notified
    /// again at the next change, without re-subscribing. Presence subscriptions are decided
    /// again from the stored authorizations (a polite block is kept that way).
    fn restore(&mut self, restored: Restored) {
        let Restored {
            complete,
            publications,
            subscriptions,
            decisions,
            bindings,
        } = restored;
        for (who, stored) in publications {
            self.restore_publications(&who, stored);
        }
        self.complete = complete;
        let now = self.ctx.clock.now();
        let interval = self.settings().notifier.min_notify_interval;
        let (instant, unix) = (instant_now(), now.as_unix_secs());
        self.watches.reserve(subscriptions.len());
        for mut s in subscriptions {
            let kind = match Package::named(&s.event) {
                Some(Package::Presence) => {
                    let stored = decisions
                        .get(&s.resource)
                        .and_then(|d| d.get(&s.watcher))
                        .copied();
                    let decision = self.decide_with(&s.watcher, &s.resource, stored);
                    WatchKind::Presence {
                        polite_block: decision.decision == (Decision::Deny { polite: true }),
                        lapsed: false,
                        event: match decision.by_presentity {
                            true => WatcherEvent::Approved,
                            false => WatcherEvent::Subscribe,
                        },
                    }
                }
                Some(Package::Winfo) => WatchKind::Winfo(WinfoFeed {
                    notifier: WinfoNotifier::resume(s.winfo_version.saturating_add(1)),
                    ..WinfoFeed::default()
                }),
                None => continue,
            };
            let record = watch::take_record(&mut s);
            match Subscription::from_record(instant, unix, &record, interval) {
                Ok(sub) => {
                    self.insert(Watch {
                        id: s.id,
                        sub,
                        watcher: s.watcher,
                        resource: s.resource,
                        source: s.source,
                        live_connection: false,
                        created_at: s.created_at,
                        display_name: s.watcher_display_name,
                        kind,
                        armed: None,
                        cseq_reserved: s.dialog.local_cseq,
                    });
                }
                Err(e) => tracing::debug!(id = %s.id, error = %e, "stored subscription dropped"),
            }
        }
        for (who, at) in bindings {
            if self.by_resource.contains_key(&who) {
                self.bindings.set(&who, Some(at));
            }
        }
        // Every decision of a watched presentity was read: none is to be read again.
        let mut decisions = decisions;
        for who in self.by_resource.keys() {
            let known = decisions.remove(who).unwrap_or_default();
            self.authorizations.insert(who.clone(), known);
        }
    }

    fn insert(&mut self, w: Watch) -> Key {
        let resource = w.resource.clone();
        let presence = w.is_presence();
        let key = self.watches.insert(w);
        self.by_dialog.insert(&self.watches, key);
        let index = match presence {
            true => &mut self.by_resource,
            false => &mut self.winfo_of,
        };
        index.entry(resource).or_default().insert(key);
        key
    }

    /// Drops a subscription; a presence watcher leaving is reported to the winfo subscribers.
    fn forget(&mut self, key: Key) -> Option<Watch> {
        let w = self.watches.remove(&key)?;
        self.by_dialog.remove(&w, key);
        let index = match w.kind {
            WatchKind::Presence { .. } => &mut self.by_resource,
            WatchKind::Winfo(_) => &mut self.winfo_of,
        };
        if let Some(set) = index.get_mut(&w.resource) {
            set.remove(&key);
            if set.is_empty() {
                index.remove(&w.resource);
                if w.is_presence() {
                    // Nobody watches any more: its document and binding timer go.
                    self.documents.remove(&w.resource);
                    self.bindings.set(&w.resource, None);
                }
            }
        }
        if w.is_presence() {
            self.watcher_left(&w);
        }
        Some(w)
    }

    /// The state of `resource` changed: every watcher learns it (rate-controlled).
    fn changed(&mut self, resource: &Address) {
        self.documents.remove(resource);
        let Some(keys) = self.by_resource.get(resource) else {
            return;
        };
        let now = instant_now();
        for key in keys {
            if let Some(w) = self.watches.get_mut(key) {
                w.sub.state_changed(now);
            }
        }
    }

    async fn timers(&mut self) {
        let now_ms = now_millis(&self.ctx);
        let mut expired = Vec::new();
        for who in self.publication_expiry.due(now_ms) {
            if let Some(p) = self.presentities.get_mut(&who) {
                if !p.expire(now_ms).is_empty() {
                    expired.push(who.clone());
                }
                let next = p.poll_timeout();
                self.publication_expiry.set(&who, next);
            }
        }
        // A binding running out matters to watchers only of a user who publishes nothing.
        for who in self.bindings.due(now_ms) {
            let publishing = self.presentities.get(&who).is_some_and(|p| !p.is_empty());
            if !publishing && !expired.contains(&who) {
                expired.push(who);
            }
        }
        for who in &expired {
            self.changed(who);
            self.track_bindings(who).await;
        }
        let now = instant_now();
        let mut touched = HashSet::new();
        for key in self.watches.due(now) {
            let Some(w) = self.watches.get_mut(&key) else {
                continue;
            };
            let before = w.sub.state();
            w.sub.handle_timeout(now);
            let after = w.sub.state();
            if let WatchKind::Presence { lapsed, .. } = &mut w.kind {
                *lapsed = before == SubState::Pending && after == SubState::Terminated;
                if after != before {
                    touched.insert(w.resource.clone());
                }
            }
        }
        for resource in touched {
            self.winfo_changed(&resource);
        }
        self.give_up_waiting(now_ms);
    }

    fn notify_outcome(&mut self, key: Key, code: u16) {
        let now = instant_now();
        if let Some(w) = self.watches.get_mut(&key) {
            match code {
                408 => w.sub.handle_notify_timeout(now),
                code => w.sub.handle_notify_response(now, code),
            }
            // RFC 3858 §4: a document the subscriber may have missed is made good by full
            // state in the next one.
            if let WatchKind::Winfo(feed) = &mut w.kind {
                if !(200..300).contains(&code) {
                    feed.notifier.forget_sent();
                }
            }
        }
    }

    /// Carries out what the subscriptions given an input want: NOTIFYs (each on its own
    /// task, so a slow watcher delays nobody) and removals. Acting on one subscription may
    /// give work to others (a presence watcher ending changes the winfo documents of its
    /// presentity): they are marked in turn, until all are quiet.
    async fn drain(&mut self) {
        while let Some(key) = self.watches.next_dirty() {
            self.act(key).await;
            self.watches.rearm(key);
        }
    }

    /// Takes the actions of one subscription.
    async fn act(&mut self, key: Key) {
        while let Some(w) = self.watches.peek_mut(&key) {
            let Some(action) = w.sub.poll_action() else {
                break;
            };
            match action {
                NotifierAction::SendNotify {
                    mut request,
                    with_body,
                    state,
                } => {
                    let resource = w.resource.clone();
                    let id = w.id.clone();
                    let connection = match (&w.source, w.live_connection) {
                        (Some(s), true) => s.connection_id.and_then(|c| {
                            let t = parley_sip::Transport::from_via_token(&s.transport)?;
                            Some((parley_sip::ConnectionId(c), t))
                        }),
                        _ => None,
                    };
                    let polite = match &w.kind {
                        WatchKind::Presence { polite_block, .. } => Some(*polite_block),
                        WatchKind::Winfo(_) => None,
                    };
                    // The CSeq is made durable in blocks (see `watch::CSEQ_BLOCK`); the dialog's
                    // last one is at least this NOTIFY's.
                    let cseq = w.sub.dialog().local_seq;
                    let reserve = (cseq > w.cseq_reserved).then(|| {
                        w.cseq_reserved = cseq.saturating_add(watch::CSEQ_BLOCK);
                        w.cseq_reserved
                    });
                    let mut version = None;
                    if with_body {
                        match polite {
                            Some(true) => {
                                let doc = parley_presence::policy::polite_block_document(&format!(
                                    "sip:{resource}"
                                ));
                                request.set_body(PIDF, doc.to_xml());
                            }
                            Some(false) => {
                                let doc = self.document(&resource).await;
                                request.set_body(PIDF, doc);
                            }
                            None => {
                                if let Some(doc) = self.winfo_document(key) {
                                    version = Some(doc.version);
                                    request.set_body(WATCHERINFO, doc.to_xml());
                                }
                            }
                        }
                    }
                    request.headers.push(HeaderName::AllowEvents, ALLOW_EVENTS);
                    if polite.is_some() && state == parley_sip::subscription::State::Terminated {
                        self.winfo_changed(&resource);
                    }
                    let (ctx, outcomes) = (self.ctx.clone(), self.outcomes.clone());
                    tokio::spawn(async move {
                        if version.is_some() || reserve.is_some() {
                            let key = id.clone();
                            let stored = ctx
                                .store(move |s| {
                                    if let Some(upto) = reserve {
                                        s.reserve_local_cseq(&key, upto)?;
                                    }
                                    match version {
                                        Some(v) => s.set_winfo_version(&key, v),
                                        None => Ok(()),
                                    }
                                })
                                .await;
                            if let Err(e) = stored {
                                tracing::warn!(error = %e, "NOTIFY CSeq or winfo version not stored");
                            }
                        }
                        let code = watch::send_notify(&ctx, request, connection).await;
                        let _ = outcomes.send((key, code)).await;
                    });
                }
                NotifierAction::Remove => {
                    let Some(w) = self.forget(key) else {
                        break;
                    };
                    let id = w.id;
                    // Nothing waits for the removal: the subscription is gone from memory
                    // and its answer (if any) sent; a row left by a failed write expires.
                    self.ctx.store.submit_remove_subscription(
                        id,
                        Box::new(|removed| {
                            if let Err(e) = removed {
                                tracing::warn!(error = %e, "subscription not removed from the store");
                            }
                        }),
                    );
                    break;
                }
            }
        }
    }

    /// The PIDF body watchers of `resource` who see it in full get now: composed and printed
    /// once per change, shared by all of them.
    async fn document(&mut self, resource: &Address) -> Bytes {
        let now = now_millis(&self.ctx);
        let empty = match self.publications(resource).await {
            Ok(p) => {
                let gone = !p.expire(now).is_empty();
                let empty = p.is_empty();
                if gone {
                    self.documents.remove(resource);
                    self.arm_publication_expiry(resource);
                }
                Some(empty)
            }
            Err(_) => None,
        };
        if let Some(doc) = self.documents.get(resource) {
            return doc.clone();
        }
        let registered = match empty {
            Some(true) => self.registered(resource).await,
            _ => false,
        };
        let presentity = format!("sip:{resource}");
        let doc = match self.presentities.get(resource) {
            Some(p) => parley_presence::presence_for(&presentity, p, registered),
            None => parley_presence::default_document(&presentity, registered),
        };
        let doc = Bytes::from(doc.to_xml());
        // A store that could not be read gives a document not worth keeping.
        if empty.is_some() && self.by_resource.contains_key(resource) {
            self.documents.insert(resource.clone(), doc.clone());
        }
        doc
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
