//! Event packages (RFC 6665 §7): what distinguishes `presence` from `presence.winfo` (and,
//! later, `message-summary`) for the server's subscription machinery, which is the same for all.

use crate::pidf::{Presence, PIDF_CONTENT_TYPE};
use crate::policy::{polite_block_document, Decision};
use crate::publish::ExpiryLimits;
use crate::winfo::{WatcherList, WinfoNotifier, WATCHERINFO_CONTENT_TYPE};

/// A NOTIFY (or PUBLISH) body: its `Content-Type` and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The `Content-Type` value.
    pub content_type: &'static str,
    /// The encoded document.
    pub bytes: Vec<u8>,
}

/// One event package.
pub trait EventPackage {
    /// The state notifications are built from (the composed document, the watcher lists…).
    type State: ?Sized;
    /// What the package keeps per subscription to tailor its notifications (the policy
    /// decision, the document version counter…).
    type Subscription;

    /// The `Event` header token (RFC 6665 §8.2.1), e.g. `presence`.
    fn name(&self) -> &'static str;
    /// Body types this package's notifications (and publications) use, preferred first; a
    /// SUBSCRIBE whose `Accept` allows none of them is answered `406`.
    fn body_types(&self) -> &'static [&'static str];
    /// Subscription expiry bounds (`423` below `min`).
    fn expiry(&self) -> ExpiryLimits;
    /// The body of the next NOTIFY for one subscription, or `None` for a NOTIFY without body
    /// (pending subscription) or — for packages that send only changes — no NOTIFY at all.
    fn notify_body(
        &self,
        state: &Self::State,
        subscription: &mut Self::Subscription,
    ) -> Option<Body>;
}

/// The `presence` package (RFC 3856).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresencePackage {
    /// Subscription expiry bounds.
    pub expiry: ExpiryLimits,
}

impl Default for PresencePackage {
    /// Default 3600 s (RFC 3856 §6.4), minimum 60 s, maximum 86400 s.
    fn default() -> Self {
        Self {
            expiry: ExpiryLimits {
                default: 3600,
                min: 60,
                max: 86_400,
            },
        }
    }
}

impl EventPackage for PresencePackage {
    type State = Presence;
    type Subscription = Decision;

    fn name(&self) -> &'static str {
        "presence"
    }

    fn body_types(&self) -> &'static [&'static str] {
        &[PIDF_CONTENT_TYPE]
    }

    fn expiry(&self) -> ExpiryLimits {
        self.expiry
    }

    /// Allowed: the document as the watcher may see it. Pending or blocked: no body. Politely
    /// blocked: a closed document for the same entity.
    fn notify_body(&self, state: &Presence, decision: &mut Decision) -> Option<Body> {
        let doc = match *decision {
            Decision::Allow(visibility) => visibility.apply(state),
            Decision::Deny { polite: true } => {
                polite_block_document(state.entity.as_deref().unwrap_or_default())
            }
            Decision::Pending | Decision::Deny { polite: false } => return None,
        };
        Some(Body {
            content_type: PIDF_CONTENT_TYPE,
            bytes: doc.to_xml().into_bytes(),
        })
    }
}

/// The `presence.winfo` package (RFC 3857).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WinfoPackage {
    /// Subscription expiry bounds.
    pub expiry: ExpiryLimits,
}

impl Default for WinfoPackage {
    /// Default 3600 s (RFC 3857 §4.4), minimum 60 s, maximum 86400 s.
    fn default() -> Self {
        Self {
            expiry: ExpiryLimits {
                default: 3600,
                min: 60,
                max: 86_400,
            },
        }
    }
}

impl EventPackage for WinfoPackage {
    type State = [WatcherList];
    type Subscription = WinfoNotifier;

    fn name(&self) -> &'static str {
        "presence.winfo"
    }

    fn body_types(&self) -> &'static [&'static str] {
        &[WATCHERINFO_CONTENT_TYPE]
    }

    fn expiry(&self) -> ExpiryLimits {
        self.expiry
    }

    /// Full state on the first NOTIFY, then only changes; `None` when nothing changed.
    fn notify_body(&self, lists: &[WatcherList], notifier: &mut WinfoNotifier) -> Option<Body> {
        let doc = notifier.notify(lists)?;
        Some(Body {
            content_type: WATCHERINFO_CONTENT_TYPE,
            bytes: doc.to_xml().into_bytes(),
        })
    }
}
