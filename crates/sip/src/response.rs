//! Building responses (RFC 3261 §8.2.6) and the Via edits of the transport layer
//! (RFC 3261 §18.2.1, RFC 3581).

use crate::header::Via;
use crate::header_name::HeaderName;
use crate::headers::Headers;
use crate::message::{status_line, Message};
use crate::scan::find_top_level;
use crate::transaction::key::ServerKey;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

impl Message {
    /// A response to this request: Via, From, To, Call-ID and CSeq copied (§8.2.6.2), a To tag
    /// added when the request's To has none and the response is not `100`.
    pub fn response(&self, code: u16, reason: &str, to_tag: Option<&str>) -> Message {
        response_from_headers(&self.headers, code, reason, to_tag)
    }
}

/// A response built from a request's header fields alone: used to answer a request whose
/// start line or body was rejected (the fields came with [`crate::Rejected`]).
pub fn response_from_headers(
    req: &Headers,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> Message {
    let mut headers = Headers::with_capacity(8);
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        for h in req.all(&name) {
            if name == HeaderName::To && code != 100 {
                if let Some(tag) = to_tag {
                    let has_tag = h.value_str().is_some_and(has_tag_param);
                    if !has_tag {
                        let mut v = h.value.to_vec();
                        v.extend_from_slice(b";tag=");
                        v.extend_from_slice(tag.as_bytes());
                        headers.push(name.clone(), Bytes::from(v));
                        continue;
                    }
                }
            }
            headers.push(name.clone(), h.value.clone());
        }
    }
    let code = code.clamp(100, 699);
    let mut msg = Message {
        start: status_line(code, reason),
        headers,
        body: Bytes::new(),
    };
    msg.set_content_length();
    msg
}

/// Whether a To value carries a `tag` parameter (as `NameAddr::tag` would find one), read
/// without building its URI: every response to a request without a To tag asks this.
fn has_tag_param(to: &str) -> bool {
    let Ok(text) = crate::header::name_addr::NameAddrText::split(to, "To") else {
        return false;
    };
    if crate::uri::Uri::check(text.uri).is_err() {
        return false;
    }
    // The first `tag` is the one that counts, as in `Params::get`.
    let mut tag = None;
    let params = crate::header::Params::scan(text.params, |name, value| {
        if tag.is_none() && name.eq_ignore_ascii_case("tag") {
            tag = Some(value.is_some());
        }
    });
    params.is_ok() && tag == Some(true)
}

/// Adds `received` and fills `rport` in the top Via of a request that arrived from `source`
/// (RFC 3261 §18.2.1; RFC 3581 §4). Returns false when there is no parseable top Via.
pub fn stamp_received(msg: &mut Message, source: SocketAddr) -> bool {
    let Some(first) = msg.headers.get(&HeaderName::Via) else {
        return false;
    };
    let Some(text) = first.value_str() else {
        return false;
    };
    let (top, rest) = match find_top_level(text, b',') {
        Ok(Some(i)) => (&text[..i], Some(&text[i + 1..])),
        Ok(None) => (text, None),
        Err(_) => return false,
    };
    let Ok(mut via) = Via::parse(crate::scan::trim(top)) else {
        return false;
    };
    let mut ip = String::with_capacity(15);
    crate::print::push_ip(&mut ip, source.ip());
    let mut port = String::with_capacity(5);
    crate::print::push_decimal(&mut port, u64::from(source.port()));
    let wants_rport = via.rport().is_some();
    let sent_by_matches = matches!(&via.host, crate::uri::Host::Ip(a) if *a == source.ip());
    if sent_by_matches && !wants_rport {
        return true;
    }
    via.params.0.retain(|(n, _)| {
        !(n.eq_ignore_ascii_case("received") || (wants_rport && n.eq_ignore_ascii_case("rport")))
    });
    via.params.0.push(("received", Some(&ip)));
    if wants_rport {
        via.params.0.push(("rport", Some(&port)));
    }
    let mut value = String::with_capacity(text.len() + 32);
    via.push_to(&mut value);
    if let Some(rest) = rest {
        value.push(',');
        value.push_str(rest);
    }
    let value = Bytes::from(value);
    if let Some(h) = msg.headers_mut_first(&HeaderName::Via) {
        h.value = value;
    }
    true
}

/// What the transport layer needs from the top Via of a request from `source`, in one parse:
/// the Via stamped as [`stamp_received`] does, the request's server transaction key
/// (§17.2.3; the stamped values do not enter it) and where its responses go (§18.2.2, read
/// from the stamped Via). `None` when the top Via or a field the key needs does not parse:
/// the caller then takes the separate steps, which say what is wrong.
pub(crate) fn stamp_for_transaction(
    msg: &mut Message,
    source: SocketAddr,
) -> Option<(ServerKey, ResponseTarget)> {
    let text = msg.headers.get(&HeaderName::Via)?.value_str()?;
    let (top, rest) = match find_top_level(text, b',') {
        Ok(Some(i)) => (&text[..i], Some(&text[i + 1..])),
        Ok(None) => (text, None),
        Err(_) => return None,
    };
    let mut via = Via::parse(crate::scan::trim(top)).ok()?;
    let mut ip = String::with_capacity(15);
    crate::print::push_ip(&mut ip, source.ip());
    let mut port = String::with_capacity(5);
    crate::print::push_decimal(&mut port, u64::from(source.port()));
    let wants_rport = via.rport().is_some();
    let sent_by_matches = matches!(&via.host, crate::uri::Host::Ip(a) if *a == source.ip());
    let changed = !sent_by_matches || wants_rport;
    if changed {
        via.params.0.retain(|(n, _)| {
            !(n.eq_ignore_ascii_case("received")
                || (wants_rport && n.eq_ignore_ascii_case("rport")))
        });
        via.params.0.push(("received", Some(&ip)));
        if wants_rport {
            via.params.0.push(("rport", Some(&port)));
        }
    }
    let key = ServerKey::for_request_via(msg, &via).ok()?;
    let target = response_target(&via);
    let value = changed.then(|| {
        let mut value = String::with_capacity(text.len() + 32);
        via.push_to(&mut value);
        if let Some(rest) = rest {
            value.push(',');
            value.push_str(rest);
        }
        Bytes::from(value)
    });
    if let (Some(value), Some(h)) = (value, msg.headers_mut_first(&HeaderName::Via)) {
        h.value = value;
    }
    Some((key, target))
}

/// Where a response goes (RFC 3261 §18.2.2 with RFC 3581 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTarget {
    /// Back on the connection the request came on (reliable transports).
    SameConnection,
    /// A datagram to this address.
    Datagram(SocketAddr),
    /// The top Via names a host that must be resolved first (`maddr` or a name without
    /// `received`); `port` is the port to use.
    Resolve { port: u16 },
}

/// Decides where a response to a request with this top Via goes.
pub fn response_target(via: &Via<'_>) -> ResponseTarget {
    if via.is_stream() {
        return ResponseTarget::SameConnection;
    }
    let default_port = via.port.unwrap_or(5060);
    if let Some(maddr) = via.maddr() {
        return match maddr.parse::<IpAddr>() {
            Ok(ip) => ResponseTarget::Datagram(SocketAddr::new(ip, default_port)),
            Err(_) => ResponseTarget::Resolve { port: default_port },
        };
    }
    let port = via
        .rport()
        .flatten()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    if let Some(ip) = via.received().and_then(|r| r.parse::<IpAddr>().ok()) {
        return ResponseTarget::Datagram(SocketAddr::new(ip, port));
    }
    match &via.host {
        crate::uri::Host::Ip(ip) => ResponseTarget::Datagram(SocketAddr::new(*ip, port)),
        crate::uri::Host::Name(_) => ResponseTarget::Resolve { port },
    }
}

impl Message {
    fn headers_mut_first(&mut self, name: &HeaderName) -> Option<&mut crate::headers::Header> {
        self.headers.first_mut(name)
    }
}
