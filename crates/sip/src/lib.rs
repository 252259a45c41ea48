//! # parley-sip
//!
//! The SIP protocol core of Parley (RFC 3261), sans-IO: it takes bytes, events and the current
//! time as arguments and returns messages and actions. It never reads the clock, opens a
//! socket or spawns a task; `parley-net` does that and drives it.
//!
//! - [`Message`]: the message model. [`Message::parse`] accepts a datagram or one framed
//!   stream message, checking the [`Limits`] before allocating; [`Message::validate`] applies
//!   the checks of RFC 3261 §8.2 / §16.3; [`Message::write_to`] prints.
//! - [`header`]: typed views of the fields SIMPLE needs, parsed on demand.
//! - [`StreamFramer`]: `Content-Length` framing and CRLF keep-alives on TCP/TLS.
//! - [`uri`]: sip/sips/tel URIs and opaque absolute URIs.
//! - [`response`]: building responses, the Via edits of §18.2.1 and where responses go.
//! - [`Endpoint`]: parsing, validation and the transaction layer behind one run loop
//!   (`handle_*` in, `poll_*` out); see its module docs for the contract.
//! - [`transaction`]: the RFC 3261 §17 state machines and timers behind the endpoint.
//! - [`auth`]: digest authentication (RFC 8760): HA1s, stateless nonces, replay memory,
//!   challenges, verification and the client's answer.
//! - [`dialog`]: dialog state (RFC 3261 §12), in-dialog requests and a persistable record.
//! - [`subscription`]: RFC 6665 notifier and subscriber state machines with NOTIFY rate
//!   control (RFC 6446 style).

#![forbid(unsafe_code)]

/// Defines `fn $name(b: u8) -> bool` as a lookup in a 256-entry table that the compiler fills
/// from the `const fn` predicate `$pred`. The parsers test every byte of every header against
/// such classes; a table load is one instruction where the chain of comparisons was a dozen
/// (and often an out-of-line call).
macro_rules! byte_class {
    ($(#[$doc:meta])* $vis:vis fn $name:ident = $pred:ident;) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name(b: u8) -> bool {
            const TABLE: [bool; 256] = {
                let mut t = [false; 256];
                let mut i: u8 = 0;
                loop {
                    t[i as usize] = $pred(i);
                    if i == u8::MAX {
                        break;
                    }
                    i += 1;
                }
                t
            };
            TABLE[usize::from(b)]
        }
    };
}

mod access;
pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod error;
pub mod framing;
pub mod header;
pub mod header_name;
pub mod headers;
pub mod limits;
pub mod message;
pub mod method;
mod print;
pub mod response;
mod scan;
pub mod subscription;
pub mod transaction;
pub mod transport;
pub mod uri;
mod validate;

pub use endpoint::{Endpoint, EndpointConfig, EndpointError, Event, TimerConfig, TransactionId};
pub use error::ParseError;
pub use framing::{Frame, FramingError, StreamFramer};
pub use header_name::HeaderName;
pub use headers::{Header, Headers};
pub use limits::Limits;
pub use message::{Message, Rejected, RequestLine, StartLine, StatusLine};
pub use method::Method;
pub use transport::{ConnectionId, Destination, Peer, Transmit, Transport};
pub use uri::{Host, SipUri, Uri};
