//! Who may watch whom (RFC 3856 §5, RFC 6665 §4.2.1.3): the presentity's stored decisions
//! (`AuthorizationStore`) go through the one decision point of the `presence` crate
//! ([`parley_presence::policy::PolicyEngine`]) at every SUBSCRIBE, at restart, and when the
//! presentity decides about a watcher (the HTTP API, [`super::api`]), which acts at once on
//! the watcher's live subscriptions.

use super::{instant_now, State};
use parley_presence::policy::{Decision, Party, SubHandling};
use parley_presence::winfo::WatcherEvent;
use parley_sip::subscription::{Authorization, State as SubState};
use parley_store::presence::{SubscriptionState, SubscriptionUpdate, WatcherDecision};
use parley_store::Address;
use std::collections::HashMap;

/// A decision and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decided {
    pub decision: Decision,
    /// The presentity decided it (a stored authorization), not the server's default.
    pub by_presentity: bool,
}

/// The RFC 5025 `sub-handling` a stored decision stands for.
pub fn handling(d: WatcherDecision) -> SubHandling {
    match d {
        WatcherDecision::Allow => SubHandling::Allow,
        WatcherDecision::Block => SubHandling::Block,
        WatcherDecision::PoliteBlock => SubHandling::PoliteBlock,
    }
}

impl State {
    /// Decides a presence subscription of `watcher` to `resource`. The presentity's stored
    /// decisions are read once and kept (every writer of them sends a
    /// [`super::PresenceJob::Reconsider`], which reads them again), so a SUBSCRIBE does not
    /// wait for the store. A store that cannot be read counts as no stored decision (the
    /// server default applies).
    pub(super) async fn decide(&mut self, watcher: &Address, resource: &Address) -> Decided {
        let stored = match self.authorizations.get(resource) {
            Some(known) => known.get(watcher).copied(),
            None => {
                let p = resource.clone();
                match self.ctx.store(move |s| s.list_authorizations(&p)).await {
                    Ok(list) => {
                        let known: HashMap<Address, WatcherDecision> =
                            list.into_iter().map(|a| (a.watcher, a.decision)).collect();
                        let stored = known.get(watcher).copied();
                        self.authorizations.insert(resource.clone(), known);
                        stored
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "authorization not read; server default applies");
                        None
                    }
                }
            }
        };
        self.decide_with(watcher, resource, stored)
    }

    /// Decides a presence subscription of `watcher` to `resource` given the presentity's
    /// stored decision (read by the caller).
    pub(super) fn decide_with(
        &self,
        watcher: &Address,
        resource: &Address,
        stored: Option<WatcherDecision>,
    ) -> Decided {
        let decision = self.ctx.presence_policy.decide(
            Party::new(watcher.user(), watcher.domain()),
            Party::new(resource.user(), resource.domain()),
            stored.map(handling),
        );
        Decided {
            decision,
            by_presentity: stored.is_some() && watcher != resource,
        }
    }

    /// `presentity` changed its decision about `watcher`: the watcher's live subscriptions
    /// follow it at once. Allowed: a pending one becomes active with the document (winfo
    /// `approved`), a politely blocked one gets the real document. Blocked: terminated with
    /// `reason=rejected`. Politely blocked: active with a closed document. A decision
    /// forgotten leaves live subscriptions as they are unless the server default now
    /// allows or blocks them.
    pub(super) async fn reconsider(&mut self, presentity: &Address, watcher: &Address) {
        self.decisions_epoch += 1;
        // The decision just stored is read, with the presentity's others.
        self.authorizations.remove(presentity);
        let decided = self.decide(watcher, presentity).await;
        match decided.decision {
            Decision::Allow(_) | Decision::Deny { polite: true } => {
                self.end_waiting(presentity, watcher, WatcherEvent::Approved);
            }
            Decision::Deny { polite: false } => {
                self.end_waiting(presentity, watcher, WatcherEvent::Rejected);
            }
            Decision::Pending => {}
        }
        let ids: Vec<super::index::Key> = self
            .by_resource
            .get(presentity)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        let now = instant_now();
        let mut activated = Vec::new();
        for id in ids {
            let Some(w) = self.watches.get_mut(&id) else {
                continue;
            };
            if &w.watcher != watcher || w.sub.state() == SubState::Terminated {
                continue;
            }
            let pending = w.sub.state() == SubState::Pending;
            let Some((polite_block, event)) = w.presence_mut() else {
                continue;
            };
            match decided.decision {
                Decision::Allow(_) | Decision::Deny { polite: true } => {
                    let polite = decided.decision == (Decision::Deny { polite: true });
                    let changed = *polite_block != polite;
                    *polite_block = polite;
                    if decided.by_presentity {
                        *event = WatcherEvent::Approved;
                    }
                    if pending {
                        w.sub.authorize(now, Authorization::Allow);
                        activated.push(w.id.clone());
                    } else if changed {
                        w.sub.state_changed(now);
                    }
                }
                Decision::Deny { polite: false } => {
                    w.sub.authorize(now, Authorization::Reject);
                }
                Decision::Pending => {}
            }
        }
        for id in activated {
            let update = SubscriptionUpdate {
                state: Some(SubscriptionState::Active),
                ..SubscriptionUpdate::default()
            };
            if let Err(e) = self
                .ctx
                .store(move |s| s.update_subscription(&id, &update).map(|_| ()))
                .await
            {
                tracing::warn!(error = %e, "authorized subscription not stored as active");
            }
        }
        self.winfo_changed(presentity);
    }
}
