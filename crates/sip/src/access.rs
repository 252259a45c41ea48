//! Typed access to a message's header fields. Each accessor parses on demand and says what
//! was wrong; none panics.

use crate::error::ParseError;
use crate::header::contact::Contact;
use crate::header::event::{Event, SubscriptionState};
use crate::header::lists::parse_token_list;
use crate::header::media::MediaType;
use crate::header::scalar::{parse_call_id, parse_delta_seconds, parse_max_forwards};
use crate::header::{AuthParams, CSeq, NameAddr, Via};
use crate::header_name::HeaderName;
use crate::message::Message;

fn text<'a>(h: &'a crate::headers::Header, name: &'static str) -> Result<&'a str, ParseError> {
    h.value_str().ok_or(ParseError::header(name, "not UTF-8"))
}

impl Message {
    /// The value of a header that must appear exactly once.
    pub fn single(&self, name: &HeaderName) -> Result<&str, ParseError> {
        let canonical = name.canonical();
        let mut it = self.headers.all(name);
        let first = it.next().ok_or(ParseError::Missing(canonical))?;
        if it.next().is_some() {
            return Err(ParseError::Duplicate(canonical));
        }
        text(first, canonical)
    }

    /// The value of a header that may appear at most once.
    pub fn optional(&self, name: &HeaderName) -> Result<Option<&str>, ParseError> {
        match self.single(name) {
            Ok(v) => Ok(Some(v)),
            Err(ParseError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn call_id(&self) -> Result<&str, ParseError> {
        parse_call_id(self.single(&HeaderName::CallId)?)
    }

    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(self.single(&HeaderName::CSeq)?)
    }

    pub fn from_header(&self) -> Result<NameAddr<'_>, ParseError> {
        NameAddr::parse(self.single(&HeaderName::From)?, "From")
    }

    pub fn to_header(&self) -> Result<NameAddr<'_>, ParseError> {
        NameAddr::parse(self.single(&HeaderName::To)?, "To")
    }

    /// The `tag` of the To field (`to_header()?.tag()`), read without building its URI: a
    /// proxy asks this of every request to tell dialog-creating from in-dialog ones.
    pub fn to_tag(&self) -> Result<Option<&str>, ParseError> {
        tag_of(self.single(&HeaderName::To)?, "To")
    }

    /// The `tag` of the From field (`from_header()?.tag()`), read without building its URI.
    pub fn from_tag(&self) -> Result<Option<&str>, ParseError> {
        tag_of(self.single(&HeaderName::From)?, "From")
    }

    /// Every Via value, top first, across all Via fields.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'_>, ParseError>> + '_ {
        self.headers.all(&HeaderName::Via).flat_map(
            |h| -> Box<dyn Iterator<Item = Result<Via<'_>, ParseError>>> {
                match h.value_str() {
                    Some(s) => Box::new(Via::parse_list(s)),
                    None => Box::new(std::iter::once(Err(ParseError::header("Via", "not UTF-8")))),
                }
            },
        )
    }

    /// The first value of the first Via field (what [`Message::vias`] yields first).
    pub fn top_via(&self) -> Result<Via<'_>, ParseError> {
        let first = self
            .headers
            .get(&HeaderName::Via)
            .ok_or(ParseError::Missing("Via"))?;
        let s = text(first, "Via")?;
        let top = match crate::scan::find_top_level(s, b',') {
            Ok(Some(i)) => &s[..i],
            Ok(None) => s,
            Err(_) => return Err(ParseError::header("Via", "unbalanced quotes")),
        };
        Via::parse(crate::scan::trim(top))
    }

    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.optional(&HeaderName::MaxForwards)?
            .map(parse_max_forwards)
            .transpose()
    }

    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.optional(&HeaderName::Expires)?
            .map(|v| parse_delta_seconds(v, "Expires"))
            .transpose()
    }

    /// Every Contact value across all Contact fields (`*` as [`Contact::Star`]).
    pub fn contacts(&self) -> Result<Vec<Contact<'_>>, ParseError> {
        self.headers
            .all(&HeaderName::Contact)
            .map(|h| Contact::parse(text(h, "Contact")?))
            .collect()
    }

    /// Every value of a name-addr list header (Route, Record-Route), in order.
    pub fn name_addrs(&self, name: &HeaderName) -> Result<Vec<NameAddr<'_>>, ParseError> {
        let canonical = name.canonical();
        let mut out = Vec::new();
        for h in self.headers.all(name) {
            for v in NameAddr::parse_list(text(h, canonical)?, canonical) {
                out.push(v?);
            }
        }
        Ok(out)
    }

    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, ParseError> {
        self.optional(&HeaderName::ContentType)?
            .map(|v| MediaType::parse(v, "Content-Type"))
            .transpose()
    }

    /// Every token of a token-list header (Require, Supported, Allow, ...), across fields.
    pub fn tokens(&self, name: &HeaderName) -> Result<Vec<&str>, ParseError> {
        let canonical = name.canonical();
        let mut out = Vec::new();
        for h in self.headers.all(name) {
            out.extend(parse_token_list(text(h, canonical)?, canonical)?);
        }
        Ok(out)
    }

    pub fn event(&self) -> Result<Option<Event<'_>>, ParseError> {
        self.optional(&HeaderName::Event)?
            .map(Event::parse)
            .transpose()
    }

    pub fn subscription_state(&self) -> Result<Option<SubscriptionState<'_>>, ParseError> {
        self.optional(&HeaderName::SubscriptionState)?
            .map(SubscriptionState::parse)
            .transpose()
    }

    /// Every challenge or credential in an authentication header (WWW-Authenticate,
    /// Proxy-Authenticate, Authorization, Proxy-Authorization), one per field.
    pub fn auth_params(&self, name: &HeaderName) -> Result<Vec<AuthParams<'_>>, ParseError> {
        let canonical = name.canonical();
        self.headers
            .all(name)
            .map(|h| AuthParams::parse(text(h, canonical)?, canonical))
            .collect()
    }

    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.optional(&HeaderName::MinExpires)?
            .map(|v| parse_delta_seconds(v, "Min-Expires"))
            .transpose()
    }

    pub fn sip_etag(&self) -> Result<Option<&str>, ParseError> {
        self.optional(&HeaderName::SipETag)?
            .map(|v| crate::header::scalar::parse_etag(v, "SIP-ETag"))
            .transpose()
    }

    pub fn sip_if_match(&self) -> Result<Option<&str>, ParseError> {
        self.optional(&HeaderName::SipIfMatch)?
            .map(|v| crate::header::scalar::parse_etag(v, "SIP-If-Match"))
            .transpose()
    }
}

/// The `tag` parameter of a From or To value, with the errors `NameAddr::parse` gives.
fn tag_of<'a>(value: &'a str, header: &'static str) -> Result<Option<&'a str>, ParseError> {
    let text = crate::header::name_addr::NameAddrText::split(value, header)?;
    crate::uri::Uri::check(text.uri).map_err(|_| ParseError::header(header, "malformed URI"))?;
    // The first `tag` is the one that counts, as in `Params::get`.
    let mut tag = None;
    crate::header::Params::scan(text.params, |name, v| {
        if tag.is_none() && name.eq_ignore_ascii_case("tag") {
            tag = Some(v);
        }
    })
    .map_err(|_| ParseError::header(header, "malformed parameter"))?;
    Ok(tag.flatten())
}
