//! Presence documents and the state a presence server keeps for them, without I/O.
//!
//! (Crate documentation is completed below.)

#![forbid(unsafe_code)]

pub mod details;
mod error;
pub mod ns;
pub mod pidf;
mod time;
pub mod xml;

pub use error::ParseError;
pub use pidf::{
    Basic, Contact, Device, Note, Person, Presence, Priority, Status, Tuple, PIDF_CONTENT_TYPE,
};
pub use time::{Timestamp, UnixMillis};
pub use xml::Limits;
