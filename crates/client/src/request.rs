//! Building the requests a UAC sends (RFC 3261 §8.1.1, §10.2; RFC 3428 §4) and reading the
//! parts of responses it acts on; pure functions over [`Message`].

use crate::account::Aor;
use bytes::Bytes;
use parley_sip::header::contact::contact_expires;
use parley_sip::header::Contact;
use parley_sip::uri::{Host, SipUri};
use parley_sip::{HeaderName, Message, Method, Transport, Uri};
use std::net::SocketAddr;

/// `Max-Forwards` of requests we originate (RFC 3261 §8.1.1.6).
pub const MAX_FORWARDS: &str = "70";
/// The methods this UA accepts (its `Allow`).
pub const ALLOW: &str = "MESSAGE, OPTIONS, SUBSCRIBE, NOTIFY";

/// The header fields every request of one dialog-less exchange shares.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub call_id: String,
    pub from_tag: String,
    pub cseq: u32,
}

/// Our Contact URI (RFC 3261 §10.2.1): the account's user at the address we listen on,
/// with `transport=tcp` when registering over TCP.
pub fn contact_uri(account: &Aor, local: SocketAddr, transport: Transport) -> String {
    let host = Host::Ip(local.ip());
    let mut uri = format!("sip:{}@{host}:{}", account.user(), local.port());
    if transport != Transport::Udp {
        uri.push_str(";transport=");
        uri.push_str(&transport.via_token().to_ascii_lowercase());
    }
    uri
}

fn base(method: Method, uri: &str, to: &str, from: &str, ids: &RequestIds, agent: &str) -> Message {
    // The URIs come from validated addresses; a failure here is a bug, reported as an
    // invalid request by the endpoint rather than a panic.
    let uri =
        Uri::parse(uri).unwrap_or_else(|_| Uri::Sip(SipUri::new(Host::Name("invalid".into()))));
    let mut m = Message::request(method.clone(), uri);
    let h = &mut m.headers;
    h.push(HeaderName::MaxForwards, MAX_FORWARDS);
    h.push(HeaderName::To, format!("<{to}>"));
    h.push(HeaderName::From, format!("<{from}>;tag={}", ids.from_tag));
    h.push(HeaderName::CallId, ids.call_id.clone());
    h.push(
        HeaderName::CSeq,
        format!("{} {}", ids.cseq, method.as_str()),
    );
    h.push(HeaderName::UserAgent, agent.to_owned());
    m
}

/// A REGISTER binding `contact` to `account` for `expires` seconds (RFC 3261 §10.2): To and
/// From are the AOR, the Request-URI the domain; `expires` 0 removes the binding (§10.2.2).
pub fn register(
    account: &Aor,
    contact: &str,
    expires: u32,
    ids: &RequestIds,
    agent: &str,
) -> Message {
    let aor = account.uri();
    let mut m = base(
        Method::Register,
        &account.domain_uri(),
        &aor,
        &aor,
        ids,
        agent,
    );
    m.headers.push(HeaderName::Contact, format!("<{contact}>"));
    m.headers.push(HeaderName::Expires, expires.to_string());
    m.headers.push(HeaderName::Allow, ALLOW);
    m.set_content_length();
    m
}

/// A MESSAGE carrying `body` to `to` (RFC 3428 §4): outside any dialog, no Contact.
pub fn message(
    account: &Aor,
    to: &Aor,
    content_type: &str,
    body: Bytes,
    ids: &RequestIds,
    agent: &str,
) -> Message {
    let to_uri = to.uri();
    let mut m = base(
        Method::Message,
        &to_uri,
        &to_uri,
        &account.uri(),
        ids,
        agent,
    );
    m.set_body(content_type, body);
    m
}

/// The expiry the registrar granted our `contact` (RFC 3261 §10.2.4): its `expires`
/// parameter in the 200's Contact list, else the `Expires` header, else what we asked for.
/// `None` when the 200 does not list our contact (the registrar did not bind it).
pub fn granted_expires(response: &Message, contact: &str, requested: u32) -> Option<u32> {
    let ours = match Uri::parse(contact) {
        Ok(Uri::Sip(uri)) => uri,
        _ => return None,
    };
    let header_expires = response.expires().ok().flatten();
    let contacts = response.contacts().ok()?;
    for value in &contacts {
        let Contact::Addresses(list) = value else {
            continue;
        };
        for c in list {
            let Uri::Sip(uri) = &c.uri else { continue };
            if same_contact(uri, &ours) {
                let expires = contact_expires(c).ok().flatten();
                return Some(expires.or(header_expires).unwrap_or(requested));
            }
        }
    }
    None
}

/// Contact URIs compare by user, host and port (RFC 3261 §19.1.4 would compare parameters
/// too; registrars may add or drop some, so they are ignored).
fn same_contact(a: &SipUri, b: &SipUri) -> bool {
    a.user_unescaped() == b.user_unescaped()
        && a.host.matches(&b.host)
        && a.port.unwrap_or(5060) == b.port.unwrap_or(5060)
}

/// The status code and reason phrase of a response.
pub fn status(response: &Message) -> (u16, String) {
    match &response.start {
        parley_sip::StartLine::Response(s) => {
            (s.code, String::from_utf8_lossy(&s.reason).into_owned())
        }
        parley_sip::StartLine::Request(_) => (0, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_sip::Limits;

    fn ids() -> RequestIds {
        RequestIds {
            call_id: "abc@192.0.2.5".into(),
            from_tag: "t1".into(),
            cseq: 3,
        }
    }

    fn alice() -> Aor {
        Aor::parse("alice@example.test").unwrap()
    }

    /// A request as it leaves (with the Via the endpoint adds) must pass validation.
    fn with_via(mut m: Message) -> Message {
        m.headers.push_front(
            HeaderName::Via,
            "SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKx;rport",
        );
        m.validate().unwrap();
        Message::parse(m.to_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn register_has_the_fields_of_rfc3261_10_2() {
        let contact = contact_uri(&alice(), "192.0.2.5:5062".parse().unwrap(), Transport::Tcp);
        assert_eq!(contact, "sip:alice@192.0.2.5:5062;transport=tcp");
        let m = with_via(register(&alice(), &contact, 600, &ids(), "Parley/0"));
        assert_eq!(m.uri().unwrap().to_string(), "sip:example.test");
        assert_eq!(
            m.to_header().unwrap().uri.to_string(),
            "sip:alice@example.test"
        );
        assert_eq!(m.from_header().unwrap().tag(), Some("t1"));
        assert_eq!(m.cseq().unwrap().seq, 3);
        assert_eq!(m.expires().unwrap(), Some(600));
        assert_eq!(
            m.headers.get_str(&HeaderName::Contact),
            Some("<sip:alice@192.0.2.5:5062;transport=tcp>")
        );
        let v6 = contact_uri(
            &alice(),
            "[2001:db8::5]:5060".parse().unwrap(),
            Transport::Udp,
        );
        assert_eq!(v6, "sip:alice@[2001:db8::5]:5060");
    }

    #[test]
    fn message_carries_the_body_unchanged() {
        let bob = Aor::parse("bob@example.test").unwrap();
        let text = "héllo ✓\r\nsecond line";
        let m = with_via(message(
            &alice(),
            &bob,
            "text/plain;charset=UTF-8",
            Bytes::from(text),
            &ids(),
            "P",
        ));
        assert_eq!(m.uri().unwrap().to_string(), "sip:bob@example.test");
        assert_eq!(m.body, text.as_bytes());
        assert_eq!(
            m.headers.get_str(&HeaderName::ContentLength),
            Some(text.len().to_string().as_str())
        );
        assert!(m.headers.get(&HeaderName::Contact).is_none());
    }

    fn ok(contacts: &str) -> Message {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK1\r\nFrom: <sip:alice@example.test>;tag=1\r\n\
             To: <sip:alice@example.test>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{contacts}Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    #[test]
    fn granted_expiry_comes_from_our_contact() {
        let ours = "sip:alice@192.0.2.5:5062";
        let both = ok("Contact: <sip:alice@192.0.2.9:5060>;expires=30, <sip:alice@192.0.2.5:5062;ob>;expires=120\r\nExpires: 60\r\n");
        assert_eq!(granted_expires(&both, ours, 3600), Some(120));
        let header_only = ok("Contact: <sip:alice@192.0.2.5:5062>\r\nExpires: 60\r\n");
        assert_eq!(granted_expires(&header_only, ours, 3600), Some(60));
        let bare = ok("Contact: <sip:alice@192.0.2.5:5062>\r\n");
        assert_eq!(granted_expires(&bare, ours, 3600), Some(3600));
        assert_eq!(granted_expires(&ok(""), ours, 3600), None);
        assert_eq!(
            granted_expires(&ok("Contact: <sip:alice@192.0.2.5:5063>\r\n"), ours, 1),
            None
        );
    }
}
