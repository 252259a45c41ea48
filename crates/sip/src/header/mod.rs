//! Typed views of the header fields SIMPLE needs, parsed on demand from the raw values.

pub mod auth;
pub mod contact;
pub mod cseq;
pub mod date;
pub mod event;
pub mod lists;
pub mod media;
pub mod name_addr;
pub mod params;
pub mod scalar;
pub mod via;

pub use auth::AuthParams;
pub use contact::Contact;
pub use cseq::CSeq;
pub use event::{Event, SubscriptionState};
pub use media::MediaType;
pub use name_addr::NameAddr;
pub use params::Params;
pub use via::Via;
