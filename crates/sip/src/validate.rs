//! The checks a server makes before acting on a message (RFC 3261 §8.2, §16.3): the mandatory
//! header fields are present once each and every typed field it knows parses.

use crate::error::ParseError;
use crate::header::contact::Contact;
use crate::header::date::parse_date;
use crate::header::lists::parse_token_list;
use crate::header::media::{parse_accept, MediaType};
use crate::header::scalar::{parse_call_id, parse_delta_seconds, parse_etag, parse_max_forwards};
use crate::header::{AuthParams, CSeq, Event, NameAddr, SubscriptionState, Via};
use crate::header_name::HeaderName;
use crate::message::{Message, StartLine};

impl Message {
    /// Checks the message as RFC 3261 requires of every element that acts on it.
    ///
    /// Requests and responses must carry To, From, CSeq, Call-ID and Via (§8.1.1); fields that
    /// may appear once must not repeat (RFC 4475 §3.3.8); every field with a known grammar must
    /// follow it; a request's CSeq method must be its own (RFC 4475 §3.1.2.17). The first
    /// problem in message order is reported; missing fields after that.
    ///
    /// One pass over the fields: this runs for every message the server receives.
    pub fn validate(&self) -> Result<(), ParseError> {
        let mut seen: u64 = 0;
        let mut cseq = None;
        for h in &self.headers {
            let Some(index) = h.name.known_index() else {
                continue;
            };
            let bit = 1u64 << index;
            if seen & bit != 0 && h.name.is_single_valued() {
                return Err(ParseError::Duplicate(h.name.canonical()));
            }
            seen |= bit;
            let name = h.name.canonical();
            let v = h.value_str().ok_or(ParseError::header(name, "not UTF-8"))?;
            check_field(&h.name, name, v, &mut cseq)?;
        }
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            let bit = name.known_index().map_or(0, |i| 1u64 << i);
            if seen & bit == 0 {
                return Err(ParseError::Missing(name.canonical()));
            }
        }
        if let (StartLine::Request(r), Some(cseq)) = (&self.start, cseq) {
            if cseq.method != r.method {
                return Err(ParseError::CSeqMismatch);
            }
        }
        Ok(())
    }
}

/// Parses one field value by the grammar of its name.
fn check_field(
    field: &HeaderName,
    name: &'static str,
    v: &str,
    cseq: &mut Option<CSeq>,
) -> Result<(), ParseError> {
    match field {
        HeaderName::Via => Via::check_list(v)?,
        HeaderName::From | HeaderName::To => NameAddr::check(v, name)?,
        HeaderName::Route | HeaderName::RecordRoute => NameAddr::check_list(v, name)?,
        HeaderName::Contact => Contact::check(v)?,
        HeaderName::CallId => {
            parse_call_id(v)?;
        }
        HeaderName::CSeq => *cseq = Some(CSeq::parse(v)?),
        HeaderName::MaxForwards => {
            parse_max_forwards(v)?;
        }
        HeaderName::Expires | HeaderName::MinExpires => {
            parse_delta_seconds(v, name)?;
        }
        HeaderName::ContentType => {
            MediaType::parse(v, name)?;
        }
        HeaderName::Accept => {
            parse_accept(v)?;
        }
        HeaderName::Date => {
            parse_date(v)?;
        }
        HeaderName::Require
        | HeaderName::ProxyRequire
        | HeaderName::Supported
        | HeaderName::Unsupported
        | HeaderName::Allow
        | HeaderName::AllowEvents => {
            parse_token_list(v, name)?;
        }
        HeaderName::Event => {
            Event::parse(v)?;
        }
        HeaderName::SubscriptionState => {
            SubscriptionState::parse(v)?;
        }
        HeaderName::SipETag | HeaderName::SipIfMatch => {
            parse_etag(v, name)?;
        }
        HeaderName::WwwAuthenticate
        | HeaderName::ProxyAuthenticate
        | HeaderName::Authorization
        | HeaderName::ProxyAuthorization => {
            AuthParams::parse(v, name)?;
        }
        _ => {}
    }
    Ok(())
}
