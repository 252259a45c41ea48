//! The subscriptions of the presence server (RFC 3856 §6, RFC 6665 notifier side): their
//! conversion to and from the store's records, and the sending of one NOTIFY.

use crate::context::ServerContext;
use parley_presence::winfo::{Watcher, WatcherEvent, WinfoNotifier};
use parley_sip::dialog::DialogRecord;
use parley_sip::subscription::{Subscription, SubscriptionRecord};
use parley_sip::{ConnectionId, Message, TransactionId, Transport};
use parley_store::presence::{DialogId, SubscriptionDialog, SubscriptionState};
use parley_store::{Address, Source, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// One subscription held by the presence task.
#[derive(Debug)]
pub struct Watch {
    pub id: String,
    pub sub: Subscription,
    pub watcher: Address,
    pub resource: Address,
    /// Where the SUBSCRIBE came from.
    pub source: Option<Source>,
    /// The connection of `source` is one of this process (not restored from the store).
    pub live_connection: bool,
    pub created_at: Timestamp,
    /// The display name of the watcher's `From` (reported in watcher information).
    pub display_name: Option<String>,
    pub kind: WatchKind,
    /// The deadline this subscription is queued under (see `index::Watches`).
    pub armed: Option<std::time::Instant>,
    /// The local CSeq stored durably: NOTIFYs up to it go without a store write (see
    /// [`CSEQ_BLOCK`]).
    pub cseq_reserved: u32,
}

/// Local CSeqs reserved in the store at a time. RFC 3261 §12.2.1.1 asks only that the CSeqs
/// of a dialog increase: storing a mark this far ahead, and continuing after the mark after
/// a restart, keeps them increasing across restarts with one store write per this many
/// NOTIFYs instead of one per NOTIFY.
pub const CSEQ_BLOCK: u32 = 64;

/// What a subscription watches.
#[derive(Debug)]
pub enum WatchKind {
    /// The presence of `resource` (RFC 3856).
    Presence {
        /// Politely blocked (RFC 5025 §3.2.1): NOTIFYs carry only a closed document. Not
        /// stored with the subscription: the presentity's decision is, and a restored
        /// subscription is decided again from it.
        polite_block: bool,
        /// What made the subscription what it is, for watcher information (RFC 3857 §3.2.2):
        /// `subscribe`, or `approved` once the presentity allowed it.
        event: WatcherEvent,
        /// Expired while pending: its watcher goes on waiting for the presentity's answer
        /// (RFC 3857 §4.7.1; see the `waiting` module).
        lapsed: bool,
    },
    /// The watchers of `resource`, watched by the resource itself (RFC 3857).
    Winfo(WinfoFeed),
}

/// The document state of one `presence.winfo` subscription.
#[derive(Debug, Default)]
pub struct WinfoFeed {
    /// Versions and what was last sent (RFC 3858 §4).
    pub notifier: WinfoNotifier,
    /// Watchers removed since the last document, with the event that ended them; reported
    /// once as `terminated` in the next partial document.
    pub ended: Vec<Watcher>,
    /// A NOTIFY has been asked for and its document is not built yet: it will show every
    /// change up to when it is built, so later changes need not ask again.
    pub queued: bool,
}

impl Watch {
    /// The presence watch's flags, `None` for a winfo subscription.
    pub fn presence_mut(&mut self) -> Option<(&mut bool, &mut WatcherEvent)> {
        match &mut self.kind {
            WatchKind::Presence {
                polite_block,
                event,
                ..
            } => Some((polite_block, event)),
            WatchKind::Winfo(_) => None,
        }
    }

    pub fn is_presence(&self) -> bool {
        matches!(self.kind, WatchKind::Presence { .. })
    }
}

impl Watch {
    /// The store's form.
    pub fn to_store(&self) -> parley_store::presence::Subscription {
        let r = self.sub.to_record();
        let state = match r.state.as_str() {
            "pending" => SubscriptionState::Pending,
            "active" => SubscriptionState::Active,
            _ => SubscriptionState::Terminated { reason: None },
        };
        parley_store::presence::Subscription {
            id: self.id.clone(),
            event: r.event.clone(),
            watcher: self.watcher.clone(),
            watcher_display_name: self.display_name.clone(),
            resource: self.resource.clone(),
            dialog: SubscriptionDialog {
                id: DialogId {
                    call_id: r.dialog.call_id.clone(),
                    local_tag: r.dialog.local_tag.clone(),
                    remote_tag: r.dialog.remote_tag.clone(),
                },
                local_cseq: self.cseq_reserved.max(r.dialog.local_seq),
                remote_cseq: r.dialog.remote_seq.unwrap_or(0),
                local_uri: r.dialog.local_uri,
                remote_uri: r.dialog.remote_uri,
                remote_target: r.dialog.remote_target,
                local_contact: r.dialog.local_target,
                route_set: r.dialog.route_set,
                secure: r.dialog.secure,
            },
            state,
            expires_at: Timestamp::from_unix_secs(r.expires_unix),
            source: self.source.clone(),
            // The last version sent (RFC 3858 §4): the next document continues after it.
            winfo_version: match &self.kind {
                WatchKind::Winfo(f) => f.notifier.next_version().saturating_sub(1),
                WatchKind::Presence { .. } => 0,
            },
            created_at: self.created_at,
        }
    }
}

/// The notifier-side record of a stored subscription, its dialog and event moved out (a
/// restart turns a million of them into subscriptions: copying every string would double
/// the work).
pub fn take_record(s: &mut parley_store::presence::Subscription) -> SubscriptionRecord {
    let d = &mut s.dialog;
    SubscriptionRecord {
        dialog: DialogRecord {
            call_id: std::mem::take(&mut d.id.call_id),
            local_tag: std::mem::take(&mut d.id.local_tag),
            remote_tag: std::mem::take(&mut d.id.remote_tag),
            local_uri: std::mem::take(&mut d.local_uri),
            remote_uri: std::mem::take(&mut d.remote_uri),
            local_seq: d.local_cseq,
            remote_seq: Some(d.remote_cseq),
            remote_target: std::mem::take(&mut d.remote_target),
            local_target: std::mem::take(&mut d.local_contact),
            route_set: std::mem::take(&mut d.route_set),
            secure: d.secure,
        },
        event: std::mem::take(&mut s.event),
        state: match s.state {
            SubscriptionState::Pending => "pending".to_owned(),
            SubscriptionState::Active => "active".to_owned(),
            SubscriptionState::Terminated { .. } => "terminated".to_owned(),
        },
        expires_unix: s.expires_at.as_unix_millis() / 1000,
    }
}

/// The final responses (or timeouts, as `408`) of the NOTIFYs in flight, by transaction:
/// the transaction user hands them here before the proxy. A response that arrives before
/// its sender has registered the transaction is kept (a bounded number of them) until it
/// does.
#[derive(Debug, Default)]
pub struct NotifyWaiters {
    inner: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    waiting: HashMap<TransactionId, oneshot::Sender<u16>>,
    early: std::collections::VecDeque<(TransactionId, u16)>,
}

/// Early outcomes kept for senders not registered yet.
const EARLY_LIMIT: usize = 1024;

impl NotifyWaiters {
    fn insert(&self, tx: TransactionId, done: oneshot::Sender<u16>) {
        let Ok(mut w) = self.inner.lock() else {
            return;
        };
        if let Some(i) = w.early.iter().position(|(t, _)| *t == tx) {
            if let Some((_, status)) = w.early.remove(i) {
                let _ = done.send(status);
            }
            return;
        }
        w.waiting.insert(tx, done);
    }

    /// Delivers the final status of `tx` if it is a NOTIFY of ours being waited for;
    /// whether it was.
    pub fn complete(&self, tx: TransactionId, status: u16) -> bool {
        let waiter = self
            .inner
            .lock()
            .ok()
            .and_then(|mut w| w.waiting.remove(&tx));
        match waiter {
            Some(done) => {
                let _ = done.send(status);
                true
            }
            None => false,
        }
    }

    /// Keeps the final status of a NOTIFY transaction nobody waits for yet (it may be ours,
    /// its sender about to register it).
    pub fn keep_early(&self, tx: TransactionId, status: u16) {
        if let Ok(mut w) = self.inner.lock() {
            if w.early.len() >= EARLY_LIMIT {
                w.early.pop_front();
            }
            w.early.push_back((tx, status));
        }
    }
}

/// How long a NOTIFY may take before it counts as timed out (beyond Timer F).
const NOTIFY_LIMIT: std::time::Duration = std::time::Duration::from_secs(40);

/// Sends one NOTIFY (its CSeq already durable) and returns its final status (`408` when it
/// timed out or could not be sent).
pub async fn send_notify(
    ctx: &ServerContext,
    request: Message,
    connection: Option<(ConnectionId, Transport)>,
) -> u16 {
    let hops = crate::in_dialog::hops(ctx, &request, connection).await;
    for (destination, transport) in hops {
        let Some(local) = ctx.listener(transport) else {
            continue;
        };
        let (reply, started) = oneshot::channel();
        let command = parley_net::Command::SendRequest {
            request: request.clone(),
            destination,
            local,
            reply,
        };
        if ctx.commands.send(command).await.is_err() {
            return 408;
        }
        let Ok(Ok(tx)) = started.await else {
            continue;
        };
        let (done, outcome) = oneshot::channel();
        ctx.notify_waiters.insert(tx, done);
        return match tokio::time::timeout(NOTIFY_LIMIT, outcome).await {
            Ok(Ok(code)) => code,
            _ => {
                ctx.notify_waiters.complete(tx, 408);
                408
            }
        };
    }
    408
}
