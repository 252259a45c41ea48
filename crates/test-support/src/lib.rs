//! Test support for Parley: fixtures for the RFC 4475 torture messages and typical SIMPLE
//! messages, and a deterministic simulation harness for the sans-IO core (STYLE.md item 8):
//!
//! - [`clock::VirtualClock`]: time that moves only when the test says so;
//! - [`network::SimNetwork`]: a seeded lossy network between endpoints addressed by
//!   `SocketAddr`, logging every message with its virtual send time;
//! - [`pair::Pair`]: two [`parley_sip::Endpoint`]s on such a network, driven from one
//!   wake-up to the next like quinn-proto's test `Pair`;
//! - [`rng::SplitMix64`]: the seeded PRNG behind the losses;
//! - [`messages`]: messages from literal text.

pub mod clock;
pub mod fixtures;
pub mod messages;
pub mod network;
pub mod pair;
pub mod rng;

pub use clock::VirtualClock;
pub use network::SimNetwork;
pub use pair::{no_tu, Node, Pair, Side};
