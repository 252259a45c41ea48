//! Which transaction a message belongs to: the matching rules of RFC 3261 §17.1.3 (responses to
//! client transactions) and §17.2.3 (requests to server transactions), as hashable keys.

use crate::error::ParseError;
use crate::message::Message;
use crate::method::Method;
use crate::uri::Host;

/// Identifies a client transaction: the branch of the top Via of the request it sent, and the
/// request's method (RFC 3261 §17.1.3: a CANCEL shares the INVITE's branch but is another
/// transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: Box<str>,
    pub method: Method,
}

impl ClientKey {
    /// The key a response carries: top Via branch and CSeq method. `None` when the top Via
    /// has no branch (such a response cannot match anything we sent).
    pub fn for_response(response: &Message) -> Result<Option<ClientKey>, ParseError> {
        let via = response.top_via()?;
        let method = response.cseq()?.method;
        Ok(via.branch().map(|branch| ClientKey {
            branch: branch.into(),
            method,
        }))
    }
}

/// Identifies a server transaction (RFC 3261 §17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// The top Via branch starts with the magic cookie: branch, sent-by and method match
    /// (rules 1–3). An ACK is looked up with method INVITE.
    Branch {
        branch: Box<str>,
        /// The sent-by host, lowercased (host names compare case-insensitively).
        host: Box<str>,
        port: Option<u16>,
        method: Method,
    },
    /// RFC 2543 backwards compatibility (the last paragraphs of §17.2.3): Request-URI, To tag,
    /// From tag, Call-ID, CSeq and top Via.
    Legacy(Box<LegacyKey>),
}

/// The fields an RFC 2543 request is matched on (RFC 3261 §17.2.3), normalised by printing
/// the parsed values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyKey {
    pub request_uri: Box<str>,
    /// For an ACK key registered by an INVITE transaction: the To tag of its final response.
    pub to_tag: Option<Box<str>>,
    pub from_tag: Option<Box<str>>,
    pub call_id: Box<str>,
    pub cseq: u32,
    /// The request's method; ACK keys carry ACK (they match the CSeq number, not the method).
    pub method: Method,
    pub top_via: Box<str>,
}

impl ServerKey {
    /// The key of the transaction `request` creates or is a retransmission for. For an ACK
    /// this is the key of the INVITE transaction it acknowledges: method INVITE for RFC 3261
    /// branches; for RFC 2543 requests the key the INVITE transaction registered with
    /// [`ServerKey::ack_key`] when it sent its final response.
    pub fn for_request(request: &Message) -> Result<ServerKey, ParseError> {
        ServerKey::for_request_via(request, &request.top_via()?)
    }

    /// [`ServerKey::for_request`] with the request's top Via already parsed. The `received`
    /// and `rport` values the transport stamps do not change the key.
    pub(crate) fn for_request_via(
        request: &Message,
        via: &crate::header::Via<'_>,
    ) -> Result<ServerKey, ParseError> {
        let method = request
            .method()
            .ok_or(ParseError::StartLine("not a request"))?;
        if via.has_rfc3261_branch() {
            let method = if *method == Method::Ack {
                Method::Invite
            } else {
                method.clone()
            };
            return Ok(ServerKey::Branch {
                // has_rfc3261_branch() guarantees the branch is there.
                branch: via.branch().unwrap_or_default().into(),
                host: match &via.host {
                    Host::Name(n) => n.to_ascii_lowercase().into(),
                    ip @ Host::Ip(_) => ip.to_string().into(),
                },
                port: via.port,
                method,
            });
        }
        let cseq = request.cseq()?;
        Ok(ServerKey::Legacy(Box::new(LegacyKey {
            request_uri: request
                .uri()
                .map(ToString::to_string)
                .unwrap_or_default()
                .into(),
            to_tag: request.to_header()?.tag().map(Into::into),
            from_tag: request.from_header()?.tag().map(Into::into),
            call_id: request.call_id()?.into(),
            cseq: cseq.seq,
            method: method.clone(),
            top_via: legacy_via(via.clone()).into(),
        })))
    }

    /// The key of the INVITE transaction a CANCEL targets: RFC 3261 §9.2 applies §17.2.3 "assuming
    /// that the request method is anything but CANCEL or ACK"; only INVITE is looked for, as a
    /// CANCEL affects no other method.
    pub fn cancel_target(cancel: &Message) -> Result<ServerKey, ParseError> {
        Ok(match ServerKey::for_request(cancel)? {
            ServerKey::Branch {
                branch, host, port, ..
            } => ServerKey::Branch {
                branch,
                host,
                port,
                method: Method::Invite,
            },
            ServerKey::Legacy(mut k) => {
                k.method = Method::Invite;
                ServerKey::Legacy(k)
            }
        })
    }

    /// For an RFC 2543 INVITE transaction that sent a final response with `to_tag`: the key the
    /// ACK for it carries (§17.2.3: Request-URI, From tag, Call-ID, CSeq number and top Via of
    /// the INVITE, the To tag of the response). `None` for RFC 3261 branches, whose ACK
    /// matches the INVITE's own key.
    pub fn ack_key(&self, to_tag: Option<&str>) -> Option<ServerKey> {
        match self {
            ServerKey::Branch { .. } => None,
            ServerKey::Legacy(k) => Some(ServerKey::Legacy(Box::new(LegacyKey {
                to_tag: to_tag.map(Into::into),
                method: Method::Ack,
                ..(**k).clone()
            }))),
        }
    }
}

/// The top Via as compared for RFC 2543 matching: printed from its parsed form, without the
/// `received` and `rport` values this server stamps on arrival (RFC 3261 §18.2.1, RFC 3581),
/// so that a request compares equal before and after stamping.
fn legacy_via(mut via: crate::header::Via<'_>) -> String {
    via.params.0.retain(|(name, _)| {
        !name.eq_ignore_ascii_case("received") && !name.eq_ignore_ascii_case("rport")
    });
    via.to_string()
}
