//! # parley-client
//!
//! Parley's user agent library: a SIP UA (RFC 3261 §8) for one account over `parley-net`.
//!
//! - [`UserAgent`]: binds a UDP and a TCP socket on one ephemeral port and runs an endpoint
//!   driver with `ua_core`'s transaction user. [`UserAgent::register`] /
//!   [`UserAgent::unregister`] (RFC 3261 §10.2), [`UserAgent::send_message`] (RFC 3428 §4),
//!   and received messages from [`UserAgent::take_incoming`] (RFC 3428 §7).
//! - [`RegistrationKeeper`]: refreshes a registration in the background before it expires.
//! - [`auth`]: answering digest challenges (RFC 3261 §22, RFC 7616, RFC 8760) as a pure state
//!   machine: nonce reuse with counting, `stale=true`, and "wrong password" detection.
//! - [`request`]: building REGISTER and MESSAGE, reading what the registrar granted.
//! - [`IncomingMessage`]: a received message and the line the CLI prints for it.
//!
//! Which server to talk to is found with [`parley_net::resolve`] (RFC 3263) by the caller and
//! passed in [`UserAgentConfig::servers`].

pub mod account;
mod agent;
pub mod auth;
pub mod error;
pub mod incoming;
pub mod presence;
mod probe;
pub mod refresh;
pub mod request;
mod ua_core;

pub use account::{Aor, AorError};
pub use agent::{Delivery, Registration, UserAgent, UserAgentConfig, USER_AGENT};
pub use error::ClientError;
pub use incoming::IncomingMessage;
pub use refresh::{RegistrationEvent, RegistrationKeeper};
