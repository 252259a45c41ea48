//! Dialogs (RFC 3261 §12), as both the UAS and the UAC of the request that creates them.
//!
//! A [`Dialog`] holds the state of §12.1: Call-ID, local and remote tags, local and remote
//! sequence numbers, the remote target (the peer's Contact), the route set and the secure
//! flag. It builds requests inside the dialog (§12.2.1.1, loose and strict routing) and checks
//! requests that arrive in it (§12.2.2). A SUBSCRIBE dialog (RFC 6665 §4.1.2, §4.2.1) is made
//! by the notifier from the SUBSCRIBE it answers ([`Dialog::uas`]) and by the subscriber from
//! the 2xx or the first NOTIFY it receives ([`Dialog::uac`], [`Dialog::uac_from_notify`]).
//!
//! [`DialogRecord`] is the same state as plain strings and numbers, for the store.

mod record;

pub use record::{DialogRecord, RecordError};

use crate::error::ParseError;
use crate::header::{Contact, NameAddr};
use crate::header_name::HeaderName;
use crate::message::Message;
use crate::method::Method;
use crate::uri::Uri;
use bytes::Bytes;

/// Why a dialog could not be made, or a request does not belong to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// The message is malformed (answer 400).
    #[error("malformed message: {0}")]
    Malformed(#[from] ParseError),
    /// A header the dialog needs is absent (answer 400).
    #[error("no {0}")]
    Missing(&'static str),
    /// The request's CSeq is not above the last one seen (RFC 3261 §12.2.2: answer 500).
    #[error("CSeq {got} is not above {last}")]
    OutOfOrder { got: u32, last: u32 },
    /// The request's Call-ID or tags name another dialog (answer 481).
    #[error("request does not belong to this dialog")]
    NotThisDialog,
}

impl DialogError {
    /// The status code that answers a request rejected with this error.
    pub fn status(&self) -> u16 {
        match self {
            DialogError::Malformed(_) | DialogError::Missing(_) => 400,
            DialogError::OutOfOrder { .. } => 500,
            DialogError::NotThisDialog => 481,
        }
    }
}

/// The state of one dialog (RFC 3261 §12.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our address (the From of our requests, without tag).
    pub local_uri: Uri,
    /// The peer's address (the To of our requests, without tag).
    pub remote_uri: Uri,
    /// The CSeq of the last request we sent in the dialog; the next one uses `local_seq + 1`.
    pub local_seq: u32,
    /// The CSeq of the last request the peer sent; `None` until it sends one (§12.1.2).
    pub remote_seq: Option<u32>,
    /// Where our requests go: the peer's Contact (§12.1.1, §12.1.2).
    pub remote_target: Uri,
    /// Our Contact, put into every request we send in the dialog.
    pub local_target: Uri,
    /// The route set, in the order our requests carry it (§12.1.1 as UAS, reversed as UAC).
    pub route_set: Vec<Uri>,
    /// Whether the dialog was made by a request over TLS with a sips Request-URI (§12.1.1).
    pub secure: bool,
}

/// The URI of the single Contact of a message (RFC 3261 §12.1.1: exactly one).
fn single_contact(msg: &Message) -> Result<Uri, DialogError> {
    let contacts = msg.contacts()?;
    match contacts.first() {
        Some(Contact::Addresses(list)) => list
            .first()
            .map(|n| n.uri.clone())
            .ok_or(DialogError::Missing("Contact")),
        _ => Err(DialogError::Missing("Contact")),
    }
}

fn record_route(msg: &Message) -> Result<Vec<Uri>, DialogError> {
    Ok(msg
        .name_addrs(&HeaderName::RecordRoute)?
        .into_iter()
        .map(|n| n.uri)
        .collect())
}

fn tag_of(n: &NameAddr<'_>, header: &'static str) -> Result<String, DialogError> {
    n.tag()
        .map(str::to_owned)
        .ok_or(DialogError::Missing(header))
}

impl Dialog {
    /// The dialog the UAS makes when it answers `request` with a 2xx carrying `local_tag` in
    /// its To and `local_target` in its Contact (RFC 3261 §12.1.1). The route set is the
    /// request's Record-Route in order; the remote target is its Contact. `over_tls` says
    /// whether the request arrived over TLS (the secure flag needs it and a sips URI).
    pub fn uas(
        request: &Message,
        local_tag: &str,
        local_target: Uri,
        over_tls: bool,
    ) -> Result<Dialog, DialogError> {
        let from = request.from_header()?;
        let to = request.to_header()?;
        let secure = over_tls && request.uri().is_some_and(|u| u.scheme() == "sips");
        Ok(Dialog {
            call_id: request.call_id()?.to_owned(),
            local_tag: local_tag.to_owned(),
            // RFC 3261 §12.1.1 allows a missing tag (RFC 2543 peers); RFC 6665 needs one.
            remote_tag: tag_of(&from, "From tag")?,
            local_uri: to.uri.clone(),
            remote_uri: from.uri.clone(),
            local_seq: 0,
            remote_seq: Some(request.cseq()?.seq),
            remote_target: single_contact(request)?,
            local_target,
            route_set: record_route(request)?,
            secure,
        })
    }

    /// The dialog the UAC makes from the request it sent and the 2xx it received (RFC 3261
    /// §12.1.2): route set from the response's Record-Route reversed, remote target from its
    /// Contact, remote tag from its To.
    pub fn uac(
        sent: &Message,
        response: &Message,
        local_target: Uri,
    ) -> Result<Dialog, DialogError> {
        let from = sent.from_header()?;
        let to = response.to_header()?;
        let mut route_set = record_route(response)?;
        route_set.reverse();
        Ok(Dialog {
            call_id: sent.call_id()?.to_owned(),
            local_tag: tag_of(&from, "From tag")?,
            remote_tag: tag_of(&to, "To tag")?,
            local_uri: from.uri.clone(),
            remote_uri: sent.to_header()?.uri,
            local_seq: sent.cseq()?.seq,
            remote_seq: None,
            remote_target: single_contact(response)?,
            local_target,
            route_set,
            secure: sent.uri().is_some_and(|u| u.scheme() == "sips"),
        })
    }

    /// The subscriber's dialog made from a NOTIFY that arrived before the 2xx to its SUBSCRIBE
    /// (RFC 6665 §4.1.2.4): the NOTIFY is a request received in the dialog, so the route set
    /// is its Record-Route in order (as UAS, §12.1.1), and the remote tag is its From tag.
    pub fn uac_from_notify(
        sent: &Message,
        notify: &Message,
        local_target: Uri,
    ) -> Result<Dialog, DialogError> {
        let ours = sent.from_header()?;
        let theirs = notify.from_header()?;
        let to = notify.to_header()?;
        let local_tag = tag_of(&ours, "From tag")?;
        if to.tag() != Some(local_tag.as_str()) || notify.call_id()? != sent.call_id()? {
            return Err(DialogError::NotThisDialog);
        }
        Ok(Dialog {
            call_id: sent.call_id()?.to_owned(),
            local_tag,
            remote_tag: tag_of(&theirs, "From tag")?,
            local_uri: ours.uri.clone(),
            remote_uri: sent.to_header()?.uri,
            local_seq: sent.cseq()?.seq,
            remote_seq: Some(notify.cseq()?.seq),
            remote_target: single_contact(notify)?,
            local_target,
            route_set: record_route(notify)?,
            secure: sent.uri().is_some_and(|u| u.scheme() == "sips"),
        })
    }

    /// Whether `msg` (a request from the peer) carries this dialog's Call-ID and tags
    /// (RFC 3261 §12.2.2: its From tag is the remote tag, its To tag the local one).
    pub fn matches_request(&self, msg: &Message) -> bool {
        let same = || -> Result<bool, ParseError> {
            Ok(msg.call_id()? == self.call_id
                && msg.from_header()?.tag() == Some(self.remote_tag.as_str())
                && msg.to_header()?.tag() == Some(self.local_tag.as_str()))
        };
        same().unwrap_or(false)
    }

    /// Checks a request received in the dialog and records its CSeq (RFC 3261 §12.2.2). A
    /// CSeq not above the last one is [`DialogError::OutOfOrder`] (answer 500). For a target
    /// refresh request (SUBSCRIBE and NOTIFY are, RFC 6665 §3.2 / Appendix B.12) a Contact
    /// replaces the remote target.
    pub fn check_request(&mut self, msg: &Message) -> Result<(), DialogError> {
        if !self.matches_request(msg) {
            return Err(DialogError::NotThisDialog);
        }
        let seq = msg.cseq()?.seq;
        if let Some(last) = self.remote_seq {
            if seq <= last {
                return Err(DialogError::OutOfOrder { got: seq, last });
            }
        }
        let refresh = matches!(
            msg.method(),
            Some(Method::Subscribe | Method::Notify | Method::Invite | Method::Update)
        );
        if refresh {
            if let Ok(target) = single_contact(msg) {
                self.remote_target = target;
            }
        }
        self.remote_seq = Some(seq);
        Ok(())
    }

    /// Takes the next local CSeq (RFC 3261 §12.2.1.1: one above the last).
    pub fn next_seq(&mut self) -> u32 {
        self.local_seq = self.local_seq.wrapping_add(1);
        self.local_seq
    }

    /// A new request inside the dialog (RFC 3261 §12.2.1.1): Request-URI and Route from the
    /// remote target and route set (loose routing when the first route has `lr`, otherwise
    /// strict routing with the remote target appended), To/From with the tags, Call-ID, the
    /// next CSeq, Max-Forwards 70, our Contact and an empty body. The endpoint adds the Via.
    pub fn request(&mut self, method: Method) -> Message {
        let seq = self.next_seq();
        let (uri, routes) = self.request_uri_and_routes();
        let mut msg = Message::request(method.clone(), uri);
        let h = &mut msg.headers;
        for r in routes {
            h.push(HeaderName::Route, Bytes::from(format!("<{r}>")));
        }
        h.push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        h.push(
            HeaderName::From,
            Bytes::from(format!("<{}>;tag={}", self.local_uri, self.local_tag)),
        );
        h.push(
            HeaderName::To,
            Bytes::from(format!("<{}>;tag={}", self.remote_uri, self.remote_tag)),
        );
        h.push(HeaderName::CallId, Bytes::from(self.call_id.clone()));
        h.push(HeaderName::CSeq, Bytes::from(format!("{seq} {method}")));
        h.push(
            HeaderName::Contact,
            Bytes::from(format!("<{}>", self.local_target)),
        );
        msg.set_content_length();
        msg
    }

    /// The Request-URI and Route list of §12.2.1.1.
    fn request_uri_and_routes(&self) -> (Uri, Vec<Uri>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = first.as_sip().is_some_and(|u| u.param("lr").is_some());
        if loose {
            return (self.remote_target.clone(), self.route_set.clone());
        }
        // Strict routing: the first route becomes the Request-URI (with the parameters not
        // allowed there stripped: a Request-URI has no headers), the remote target goes last.
        let mut uri = first.clone();
        if let Uri::Sip(s) = &mut uri {
            s.headers.clear();
        }
        let mut routes: Vec<Uri> = self.route_set[1..].to_vec();
        routes.push(self.remote_target.clone());
        (uri, routes)
    }
}

#[cfg(test)]
mod tests;
