//! Who may watch whom, and what they may see: the one place where subscription authorization is
//! decided (issue 4). The server asks [`PolicyEngine::decide`] for every new presence
//! subscription, for every subscription restored after a restart, and after every change of the
//! inputs (an authorization the presentity stored through the server's watcher API, later a
//! pres-rules document changed over XCAP).
//!
//! The inputs, in order of precedence:
//! 1. a user always sees themself in full;
//! 2. an authorization stored for this watcher (the presentity approved or blocked them);
//! 3. per-user rule sources ([`AuthorizationRules`]), in the order they were added — RFC 5025
//!    pres-rules evaluation plugs in here; the first source with an opinion decides;
//! 4. the server's [`SubscriptionPolicy`] from its configuration.

/// The server-wide default from configuration (issue 4: `allow`, `same-domain`, `confirm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionPolicy {
    /// Every watcher is allowed.
    Allow,
    /// Watchers of the presentity's own domain are allowed; others are blocked.
    SameDomain,
    /// Watchers stay pending until the presentity authorizes them.
    #[default]
    Confirm,
}

/// What a rule says about a subscription: RFC 5025 §3.2.1 `<sub-handling>` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubHandling {
    /// Reject: `403`, or a terminated subscription (`reason=rejected`).
    Block,
    /// Ask the presentity: the subscription is pending.
    Confirm,
    /// Pretend to accept, but show nothing beyond a closed document (RFC 5025 §3.2.1).
    PoliteBlock,
    /// Accept.
    Allow,
}

/// What a watcher may see of the presentity (RFC 5025 §3.3 transformations). The hook where
/// pres-rules' `provide-*` elements will narrow the document; for now `Full` and one reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// The composed document unchanged.
    #[default]
    Full,
    /// Only the tuples with their basic status and contact; no person, device, notes or
    /// extensions.
    BasicOnly,
}

impl Visibility {
    /// The document `doc` as a watcher with this visibility sees it.
    pub fn apply(self, doc: &crate::Presence) -> crate::Presence {
        match self {
            Visibility::Full => doc.clone(),
            Visibility::BasicOnly => crate::Presence {
                entity: doc.entity.clone(),
                tuples: doc
                    .tuples
                    .iter()
                    .map(|t| crate::Tuple {
                        id: t.id.clone(),
                        status: crate::Status {
                            basic: t.status.basic,
                            extensions: Vec::new(),
                        },
                        contact: t.contact.clone(),
                        ..crate::Tuple::default()
                    })
                    .collect(),
                ..crate::Presence::default()
            },
        }
    }
}

/// The outcome for one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Active: NOTIFY the document, transformed by the visibility.
    Allow(Visibility),
    /// Pending: `Subscription-State: pending`, no presence in the NOTIFY (RFC 6665 §4.1.3).
    Pending,
    /// Refused. `polite`: accept the subscription but show only a closed document
    /// ([`polite_block_document`]), so the watcher cannot tell it was blocked (RFC 5025 §3.2.1).
    Deny {
        /// Polite block instead of a visible refusal.
        polite: bool,
    },
}

impl From<(SubHandling, Visibility)> for Decision {
    fn from((h, v): (SubHandling, Visibility)) -> Self {
        match h {
            SubHandling::Allow => Decision::Allow(v),
            SubHandling::Confirm => Decision::Pending,
            SubHandling::Block => Decision::Deny { polite: false },
            SubHandling::PoliteBlock => Decision::Deny { polite: true },
        }
    }
}

/// The document a politely blocked watcher receives: one closed tuple, nothing else.
pub fn polite_block_document(presentity: &str) -> crate::Presence {
    crate::compose::default_document(presentity, false)
}

/// An address of record as policy sees it: user part and domain. Domains compare without case;
/// user parts with case (RFC 3261 §19.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party<'a> {
    /// User part, e.g. `alice`.
    pub user: &'a str,
    /// Domain, e.g. `example.com`.
    pub domain: &'a str,
}

impl<'a> Party<'a> {
    /// A party.
    pub fn new(user: &'a str, domain: &'a str) -> Self {
        Self { user, domain }
    }

    /// Whether both are in the same domain.
    pub fn same_domain(&self, other: &Party<'_>) -> bool {
        self.domain.eq_ignore_ascii_case(other.domain)
    }

    /// Whether both are the same address of record.
    pub fn same_aor(&self, other: &Party<'_>) -> bool {
        self.user == other.user && self.same_domain(other)
    }
}

/// A source of per-user authorization rules (RFC 5025 pres-rules over XCAP, an admin API...).
/// `None` means "no rule matched; ask the next source".
pub trait AuthorizationRules: std::fmt::Debug {
    /// The handling and visibility for `watcher` subscribing to `presentity`.
    fn evaluate(
        &self,
        watcher: Party<'_>,
        presentity: Party<'_>,
    ) -> Option<(SubHandling, Visibility)>;
}

/// The decision point: server default plus pluggable rule sources.
#[derive(Debug, Default)]
pub struct PolicyEngine {
    default: SubscriptionPolicy,
    sources: Vec<Box<dyn AuthorizationRules + Send + Sync>>,
}

impl PolicyEngine {
    /// An engine with only the server default.
    pub fn new(default: SubscriptionPolicy) -> Self {
        Self {
            default,
            sources: Vec::new(),
        }
    }

    /// Adds a rule source, consulted after the ones added before it.
    pub fn with_rules(mut self, source: Box<dyn AuthorizationRules + Send + Sync>) -> Self {
        self.sources.push(source);
        self
    }

    /// The server default.
    pub fn default_policy(&self) -> SubscriptionPolicy {
        self.default
    }

    /// Decides a presence subscription of `watcher` to `presentity`, given the authorization
    /// stored for this pair (if any). See the module docs for the order of precedence.
    pub fn decide(
        &self,
        watcher: Party<'_>,
        presentity: Party<'_>,
        stored: Option<SubHandling>,
    ) -> Decision {
        if watcher.same_aor(&presentity) {
            return Decision::Allow(Visibility::Full);
        }
        if let Some(h) = stored {
            return (h, Visibility::Full).into();
        }
        if let Some(found) = self
            .sources
            .iter()
            .find_map(|s| s.evaluate(watcher, presentity))
        {
            return found.into();
        }
        match self.default {
            SubscriptionPolicy::Allow => Decision::Allow(Visibility::Full),
            SubscriptionPolicy::SameDomain if watcher.same_domain(&presentity) => {
                Decision::Allow(Visibility::Full)
            }
            SubscriptionPolicy::SameDomain => Decision::Deny { polite: false },
            SubscriptionPolicy::Confirm => Decision::Pending,
        }
    }

    /// Decides a `presence.winfo` subscription: only the user themself may see who watches them
    /// (issue 4; RFC 3857 §5.2 leaves this to policy).
    pub fn decide_winfo(&self, watcher: Party<'_>, resource: Party<'_>) -> Decision {
        if watcher.same_aor(&resource) {
            Decision::Allow(Visibility::Full)
        } else {
            Decision::Deny { polite: false }
        }
    }
}
