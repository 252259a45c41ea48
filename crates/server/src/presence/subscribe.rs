//! SUBSCRIBE for `presence` (RFC 3856 §6) and `presence.winfo` (RFC 3857 §5): the initial
//! request (policy, acceptance, persistence, then `200` and the first NOTIFY) and the ones in
//! the dialog (refresh, unsubscribe, RFC 6665 §4.2.1.2).

use super::watch::{Watch, WatchKind, WinfoFeed};
use super::{
    accepts, instant_now, local_contact, source_of, store_failure, with_server_headers, Package,
    State,
};
use parley_presence::policy::{Decision, Party};
use parley_presence::winfo::WatcherEvent;
use parley_sip::subscription::{Authorization, Subscription};
use parley_sip::{HeaderName, Message, Peer, TransactionId};
use parley_store::presence::SubscriptionUpdate;
use parley_store::Address;

/// An initial SUBSCRIBE accepted, its subscription being stored.
pub(super) struct Accepted {
    tx: TransactionId,
    /// The `200` to send once stored.
    ok: Message,
    watch: Watch,
    /// [`State::decisions_epoch`] when the SUBSCRIBE was decided.
    decisions: u64,
}

impl State {
    /// An initial SUBSCRIBE: policy, acceptance, persistence, then `200` and the first NOTIFY.
    pub(super) async fn subscribe(
        &mut self,
        tx: TransactionId,
        message: Message,
        peer: &Peer,
        resource: Address,
        watcher: Address,
        package: Package,
    ) {
        let request = &message;
        let ctx = self.ctx.clone();
        if !accepts(request, package.body_type()) {
            let mut r = ctx.response(request, 406, "Not Acceptable");
            r.headers.push(HeaderName::Accept, package.body_type());
            return ctx.respond(tx, r).await;
        }
        let (kind, authorization) = match package {
            Package::Presence => {
                let decided = self.decide(&watcher, &resource).await;
                let authorization = match decided.decision {
                    Decision::Allow(_) => Authorization::Allow,
                    Decision::Pending => Authorization::Pending,
                    // A polite block is accepted but shows only a closed document (RFC 5025).
                    Decision::Deny { polite: true } => Authorization::Allow,
                    Decision::Deny { polite: false } => Authorization::Reject,
                };
                let kind = WatchKind::Presence {
                    polite_block: decided.decision == (Decision::Deny { polite: true }),
                    lapsed: false,
                    event: match decided.by_presentity {
                        true => WatcherEvent::Approved,
                        false => WatcherEvent::Subscribe,
                    },
                };
                (kind, authorization)
            }
            Package::Winfo => {
                let only_self = ctx.presence_policy.decide_winfo(
                    Party::new(watcher.user(), watcher.domain()),
                    Party::new(resource.user(), resource.domain()),
                );
                if only_self != Decision::Allow(parley_presence::policy::Visibility::Full) {
                    let r = ctx.response(
                        request,
                        403,
                        "Forbidden (only the user may watch their own watchers)",
                    );
                    return ctx.respond(tx, r).await;
                }
                (WatchKind::Winfo(WinfoFeed::default()), Authorization::Allow)
            }
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
        let display_name = request
            .from_header()
            .ok()
            .and_then(|f| f.display.map(|d| d.trim().trim_matches('"').to_owned()))
            .filter(|d| !d.is_empty() && !d.chars().any(char::is_control));
        let w = Watch {
            id: super::ordered_id(),
            sub,
            watcher,
            resource: resource.clone(),
            source: source_of(peer),
            live_connection: true,
            created_at: now,
            display_name,
            kind,
            armed: None,
            cseq_reserved: 0,
        };
        let mut w = w;
        // The first block of CSeqs is reserved with the subscription itself.
        w.cseq_reserved = w
            .sub
            .dialog()
            .local_seq
            .saturating_add(super::watch::CSEQ_BLOCK);
        with_server_headers(&ctx, &mut ok);
        let accepted = Accepted {
            tx,
            ok,
            watch: w,
            decisions: self.decisions_epoch,
        };
        if accepted.watch.sub.state() == parley_sip::subscription::State::Terminated {
            return self.subscribed(accepted, Ok(())).await;
        }
        // Handed to the store without waiting: the shard takes its next job meanwhile, so
        // that the SUBSCRIBEs of all presentities share the store's group commits; the `200`
        // and the first NOTIFY follow the commit (`subscribed`).
        let record = accepted.watch.to_store();
        let limit = self.settings().max_subscriptions;
        let n = self.next_pending;
        self.next_pending += 1;
        self.pending.insert(n, (accepted, message));
        let commits = self.commits.clone();
        ctx.store.submit_insert_subscription(
            record,
            limit,
            now,
            Box::new(move |stored| {
                let _ = commits.send(super::Commit::Subscribed(n, stored));
            }),
        );
    }

    /// The store's answer to the subscription `n` waiting for it.
    pub(super) async fn subscription_stored(
        &mut self,
        n: u64,
        stored: Result<(), parley_store::StoreError>,
    ) {
        let Some((accepted, request)) = self.pending.remove(&n) else {
            return;
        };
        let stored = stored.map_err(|e| match e {
            parley_store::StoreError::SubscriptionLimit { .. } => {
                self.ctx
                    .response(&request, 403, "Forbidden (too many subscriptions)")
            }
            e => store_failure(&self.ctx, &request, &e),
        });
        self.subscribed(accepted, stored).await;
    }

    /// An accepted SUBSCRIBE, its subscription stored (or not: the answer to send instead):
    /// `200`, then the subscription joins the others and its first NOTIFY goes out.
    async fn subscribed(&mut self, accepted: Accepted, stored: Result<(), Message>) {
        let ctx = self.ctx.clone();
        let Accepted {
            tx,
            ok,
            watch: w,
            decisions,
        } = accepted;
        if let Err(refusal) = stored {
            return ctx.respond(tx, refusal).await;
        }
        ctx.respond(tx, ok).await;
        let resource = w.resource.clone();
        let watcher = w.watcher.clone();
        let presence = w.is_presence();
        if presence {
            // RFC 3857 §4.7.1: a new subscription replaces the watcher's wait.
            self.end_waiting(&resource, &watcher, WatcherEvent::Giveup);
        }
        // The bindings of a presentity already watched are tracked already.
        let first_watcher = presence && !self.by_resource.contains_key(&resource);
        self.insert(w);
        if presence {
            self.winfo_changed(&resource);
        }
        if first_watcher {
            self.track_bindings(&resource).await;
        }
        // A decision taken while the subscription was being stored applies to it too.
        if presence && decisions != self.decisions_epoch {
            self.reconsider(&resource, &watcher).await;
        }
    }

    /// A SUBSCRIBE in an existing dialog: refresh or unsubscribe.
    pub(super) async fn resubscribe(&mut self, tx: TransactionId, request: &Message, peer: &Peer) {
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
        let Some(id) = self.by_dialog.get(&self.watches, &key.0, &key.1, &key.2) else {
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
            // RFC 3857 §5.2: a SUBSCRIBE is answered with full state.
            if let WatchKind::Winfo(feed) = &mut w.kind {
                feed.notifier.forget_sent();
            }
            let live = w.sub.state() != parley_sip::subscription::State::Terminated;
            if live {
                let record = w.to_store();
                let update = SubscriptionUpdate {
                    state: Some(record.state),
                    expires_at: Some(record.expires_at),
                    remote_cseq: Some(record.dialog.remote_cseq),
                    remote_target: Some(record.dialog.remote_target),
                    source: record.source,
                };
                let id = record.id;
                let stored = super::durable(&ctx, move |s, done| {
                    s.submit_update_subscription(id, update, done)
                })
                .await;
                if let Err(e) = stored {
                    answer = store_failure(&ctx, request, &e);
                }
            }
            let resource = w.resource.clone();
            if w.is_presence() {
                self.winfo_changed(&resource);
            }
        }
        with_server_headers(&ctx, &mut answer);
        ctx.respond(tx, answer).await;
    }
}
