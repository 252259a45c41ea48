//! The checks a server makes before acting on a message (RFC 3261 §8.2, §16.3): the mandatory
//! header fields are present once each and every typed field it knows parses.

use crate::error::ParseError;
use crate::header::date::parse_date;
use crate::header::media::parse_accept;
use crate::header_name::HeaderName;
use crate::message::{Message, StartLine};

impl Message {
    /// Checks the message as RFC 3261 requires of every element that acts on it.
    ///
    /// Requests and responses must carry To, From, CSeq, Call-ID and Via (§8.1.1); fields that
    /// may appear once must not repeat (RFC 4475 §3.3.8); every field with a known grammar must
    /// follow it; a request's CSeq method must be its own (RFC 4475 §3.1.2.17).
    pub fn validate(&self) -> Result<(), ParseError> {
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            if self.headers.get(&name).is_none() {
                return Err(ParseError::Missing(name.canonical()));
            }
        }
        for h in &self.headers {
            if h.name.is_single_valued() && self.headers.count(&h.name) > 1 {
                return Err(ParseError::Duplicate(h.name.canonical()));
            }
        }
        for via in self.vias() {
            via?;
        }
        self.from_header()?;
        self.to_header()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        if let StartLine::Request(r) = &self.start {
            if cseq.method != r.method {
                return Err(ParseError::CSeqMismatch);
            }
        }
        self.max_forwards()?;
        self.expires()?;
        self.min_expires()?;
        for c in self.contacts()? {
            if let crate::header::Contact::Addresses(list) = c {
                for a in &list {
                    crate::header::contact::contact_expires(a)?;
                }
            }
        }
        self.name_addrs(&HeaderName::Route)?;
        self.name_addrs(&HeaderName::RecordRoute)?;
        self.content_type()?;
        if let Some(d) = self.optional(&HeaderName::Date)? {
            parse_date(d)?;
        }
        for name in [
            HeaderName::Require,
            HeaderName::ProxyRequire,
            HeaderName::Supported,
            HeaderName::Unsupported,
            HeaderName::Allow,
            HeaderName::AllowEvents,
        ] {
            self.tokens(&name)?;
        }
        for h in self.headers.all(&HeaderName::Accept) {
            parse_accept(
                h.value_str()
                    .ok_or(ParseError::header("Accept", "not UTF-8"))?,
            )?;
        }
        self.event()?;
        self.subscription_state()?;
        self.sip_etag()?;
        self.sip_if_match()?;
        for name in [
            HeaderName::WwwAuthenticate,
            HeaderName::ProxyAuthenticate,
            HeaderName::Authorization,
            HeaderName::ProxyAuthorization,
        ] {
            self.auth_params(&name)?;
        }
        Ok(())
    }
}
