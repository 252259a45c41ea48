//! SIP-specific event notification (RFC 6665): the notifier's and the subscriber's state
//! machines for one subscription, sans-IO.
//!
//! - [`Subscription`] (notifier side, §4.2): answers SUBSCRIBE with expiry negotiation,
//!   sends NOTIFYs with `Subscription-State` and `expires` on every one, rate-controls them
//!   (RFC 6446 style minimum interval, one NOTIFY in flight at a time), expires, and says when
//!   it must be removed. It returns [`NotifierAction`]s; the caller does the I/O.
//! - [`Subscriber`] (subscriber side, §4.1): sends SUBSCRIBE, builds its dialog from the 2xx
//!   or an earlier NOTIFY (§4.1.2.4), refreshes before expiry and reports termination with
//!   the retry advice of §4.1.3.
//! - [`SubscriptionRecord`]: the notifier's state as plain values for the store.
//!
//! Time comes in as arguments: `now: Instant` for timers, and Unix seconds (`now_unix`) where
//! an expiry must survive a restart.

mod notifier;
mod record;
mod state;
mod subscriber;

pub use notifier::{Authorization, NotifierAction, NotifierConfig, Subscription, Timer};
pub use record::{RestoreError, SubscriptionRecord};
pub use state::{negotiate_expires, Reason, State};
pub use subscriber::{RetryAdvice, Subscriber, SubscriberAction, SubscriberState, TIMER_N};
