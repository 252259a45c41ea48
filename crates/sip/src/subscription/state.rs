//! Subscription states and termination reasons (RFC 6665 §4.1.3, §4.2.2, §8.2.3) and expiry
//! negotiation (§4.2.1.1).

use std::fmt;

/// The state of a subscription as a notifier keeps it (RFC 6665 §4.2.2):
///
/// ```text
///                          +-------------+
///                          |    init     |
///                          +-------------+
///                                 |
///                           Receive SUBSCRIBE,
///                           Send NOTIFY
///                                 |
///                                 V          NOTIFY failure,
///                          +-------------+   subscription expires,
///             +------------|  resp_wait  |-- or terminated ----+
///             |            +-------------+   per local policy  |
///             |                   |                            |
///             |                   |                            |
///             |                   |                            V
///       Policy grants       Policy needed              +-------------+
///       permission                |                    | terminated  |
///             |                   |                    +-------------+
///             |                   |                               A A
///             |                   V          NOTIFY failure,      | |
///             |            +-------------+   subscription expires,| |
///             |            |   pending   |-- or terminated -------+ |
///             |            +-------------+   per local policy       |
///             |                   |                                 |
///             |            Policy changed to                        |
///             |            grant permission                         |
///             |                   |                                 |
///             |                   V          NOTIFY failure,        |
///             |            +-------------+   subscription expires,  |
///             +----------->|   active    |-- or terminated ---------+
///                          +-------------+   per local policy
/// ```
///
/// `init` and `resp_wait` last only inside [`crate::subscription::Subscription::accept`],
/// which decides the policy outcome before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Active,
    Terminated,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Terminated => "terminated",
        }
    }

    /// Parses a `Subscription-State` value; extension values are `None` and the caller
    /// ignores them (RFC 6665 §4.1.3 lets event packages define further states).
    pub fn parse(s: &str) -> Option<State> {
        match s.to_ascii_lowercase().as_str() {
            "pending" => Some(State::Pending),
            "active" => Some(State::Active),
            "terminated" => Some(State::Terminated),
            _ => None,
        }
    }
}

/// Why a subscription ended: the `reason` of `Subscription-State: terminated`
/// (RFC 6665 §4.1.3, §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The notifier ended it; the subscriber may re-subscribe at once.
    Deactivated,
    /// The notifier ended it; re-subscribe after `retry-after` (or later).
    Probation,
    /// Authorization refused; do not re-subscribe.
    Rejected,
    /// Not refreshed in time (or an unsubscribe / fetch ended); re-subscribe at once if wanted.
    Timeout,
    /// The notifier could not authorize in time; re-subscribe after `retry-after`.
    Giveup,
    /// The resource no longer exists; do not re-subscribe.
    Noresource,
    /// The resource cannot be subscribed to; do not re-subscribe.
    Invariant,
    /// An extension reason, kept as received.
    Other(String),
}

impl Reason {
    pub fn parse(s: &str) -> Reason {
        match s.to_ascii_lowercase().as_str() {
            "deactivated" => Reason::Deactivated,
            "probation" => Reason::Probation,
            "rejected" => Reason::Rejected,
            "timeout" => Reason::Timeout,
            "giveup" => Reason::Giveup,
            "noresource" => Reason::Noresource,
            "invariant" => Reason::Invariant,
            _ => Reason::Other(s.to_owned()),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Deactivated => "deactivated",
            Reason::Probation => "probation",
            Reason::Rejected => "rejected",
            Reason::Timeout => "timeout",
            Reason::Giveup => "giveup",
            Reason::Noresource => "noresource",
            Reason::Invariant => "invariant",
            Reason::Other(s) => s,
        })
    }
}

/// The expiry granted for a requested `Expires` (RFC 6665 §4.2.1.1): the package default
/// when absent, 0 kept (fetch or unsubscribe), clamped down to `max`. `Err(min)` means the
/// request is too short: answer `423 Interval Too Brief` with `Min-Expires: min`.
pub fn negotiate_expires(
    requested: Option<u32>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, u32> {
    match requested {
        None => Ok(default.clamp(min, max.max(min))),
        Some(0) => Ok(0),
        Some(e) if e < min => Err(min),
        Some(e) => Ok(e.min(max.max(min))),
    }
}
