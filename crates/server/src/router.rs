//! What the server does with a request: answer it at once, or hand it to the registrar or
//! the proxy. A pure function of the request and the server's domains, so that every rule is
//! unit-tested without sockets.
//!
//! The checks run in the order RFC 3261 gives for an element that may act as a proxy
//! (§16.3) and as a UAS (§8.2), each answering with the first failure:
//!
//! 1. Request-URI scheme other than sip, sips, tel: `416 Unsupported URI Scheme` (§16.3 step 2).
//! 2. `Max-Forwards: 0`: `483 Too Many Hops` (§16.3 step 3; RFC 4475 §3.3.11). The MAY of
//!    §16.3 that lets a proxy answer an OPTIONS to itself is not taken.
//! 3. Option tags in `Proxy-Require` or `Require` that we do not support: `420 Bad
//!    Extension` listing them in `Unsupported` (§16.3 step 5, §8.2.2.3; RFC 4475 §3.3.5).
//!    CANCEL is exempt (§8.2.2.3: those fields are ignored in CANCEL).
//! 4. A method we do not know: `501 Not Implemented` with `Allow` (§8.2.1).
//! 5. CANCEL: `200` when it matches an INVITE server transaction (the proxy then ends the
//!    INVITE with `487`), `481` otherwise (§9.2, §16.10).
//! 6. REGISTER for one of our domains: the registrar (§10.3 step 2); for another: `403`.
//! 7. A top Route naming us: the proxy, which removes it and routes along the rest (§16.4).
//! 8. A Request-URI host that is not ours: the proxy when federation is on (§16.5; it
//!    forwards only for our users), otherwise `403 Forbidden`.
//! 9. A user at one of our domains: the proxy (§16.5), which answers `404` for unknown users.
//!    A telephone number: `404` (no numbers are routed).
//! 10. Addressed to the server itself (no user part): OPTIONS gets `200` with our capabilities
//!     (§11.2); BYE `481` (no dialog, §15.1.2); other methods `405 Method Not Allowed` with
//!     `Allow` (§21.4.6: known, but not for this URI).
//!
//! ACK is never answered (§17.2.1, §13.3.1.4): a stray one is absorbed, one that follows our
//! Route goes to the proxy.

use crate::domains::LocalDomains;
use bytes::Bytes;
use parley_sip::{HeaderName, Message, Method, SipUri, Uri};

/// Methods the server accepts for the Request-URIs it serves, for `Allow` (§20.5): as a
/// registrar, as a proxy (which relays any method to users; these are the ones it knows),
/// and as a UAS for OPTIONS.
pub const ALLOWED_METHODS: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH";
/// Methods addressed to the server itself (no user part) that it serves.
pub const SERVER_METHODS: &str = "OPTIONS, REGISTER, ACK, CANCEL, BYE";
/// Option tags of extensions the server supports (§19.2); none yet.
pub const SUPPORTED_OPTION_TAGS: &[&str] = &[];
/// Body types the server accepts (§20.1: an empty `Accept` means none); none yet.
pub const ACCEPTED_BODY_TYPES: &str = "";

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send this final response.
    Respond(Message),
    /// Send nothing (ACK).
    Absorb,
    /// A REGISTER for one of our domains: the registrar's.
    Register,
    /// For a user of ours, or along a route set we are part of: the proxy's.
    Proxy,
}

/// Decides the answer to each request from the server's domains.
#[derive(Debug, Clone)]
pub struct Router {
    domains: LocalDomains,
    federation: bool,
    server_token: Bytes,
}

/// A response before it is built: status, reason and the extra header fields it carries.
struct Answer {
    code: u16,
    reason: &'static str,
    headers: Vec<(HeaderName, String)>,
}

impl Answer {
    fn plain(code: u16, reason: &'static str) -> Answer {
        Answer {
            code,
            reason,
            headers: Vec::new(),
        }
    }

    fn not_implemented() -> Answer {
        Answer {
            code: 501,
            reason: "Not Implemented",
            headers: vec![(HeaderName::Allow, ALLOWED_METHODS.to_owned())],
        }
    }

    fn not_allowed() -> Answer {
        Answer {
            code: 405,
            reason: "Method Not Allowed",
            headers: vec![(HeaderName::Allow, SERVER_METHODS.to_owned())],
        }
    }
}

/// What the rules decided before a response is built.
enum Verdict {
    Answer(Answer),
    Register,
    Proxy,
}

impl Router {
    /// `server_token` is the value of the `Server` header field of our responses (§20.35).
    pub fn new(domains: LocalDomains, server_token: &str) -> Router {
        Router {
            domains,
            federation: false,
            server_token: Bytes::copy_from_slice(server_token.as_bytes()),
        }
    }

    /// Requests for other domains go to the proxy (federation) rather than get `403`.
    pub fn with_federation(mut self, enabled: bool) -> Router {
        self.federation = enabled;
        self
    }

    pub fn domains(&self) -> &LocalDomains {
        &self.domains
    }

    /// The answer to a request that passed `Message::validate`. `to_tag` is used when the
    /// request's To has no tag (§8.2.6.2). `cancels_transaction` says whether a CANCEL
    /// matches a transaction of ours (`Endpoint::cancel_target`).
    pub fn decide(&self, request: &Message, to_tag: &str, cancels_transaction: bool) -> Decision {
        let Some(method) = request.method() else {
            return Decision::Absorb;
        };
        if *method == Method::Ack {
            return match self.top_route_is_us(request) {
                true => Decision::Proxy,
                false => Decision::Absorb,
            };
        }
        let answer = match self.answer(request, method, cancels_transaction) {
            Verdict::Answer(a) => a,
            Verdict::Register => return Decision::Register,
            Verdict::Proxy => return Decision::Proxy,
        };
        let mut response = request.response(answer.code, answer.reason, Some(to_tag));
        for (name, value) in answer.headers {
            response.headers.push(name, Bytes::from(value));
        }
        response
            .headers
            .push(HeaderName::Server, self.server_token.clone());
        response.set_content_length();
        Decision::Respond(response)
    }

    fn answer(&self, request: &Message, method: &Method, cancels_transaction: bool) -> Verdict {
        let Some(uri) = request.uri() else {
            return Verdict::Answer(Answer::plain(400, "Bad Request (no Request-URI)"));
        };
        Verdict::Answer(
            match self.check(request, method, uri, cancels_transaction) {
                Ok(verdict) => return verdict,
                Err(answer) => answer,
            },
        )
    }

    /// Steps 1–10 of the module docs: `Err` is an answer.
    fn check(
        &self,
        request: &Message,
        method: &Method,
        uri: &Uri,
        cancels_transaction: bool,
    ) -> Result<Verdict, Answer> {
        if matches!(uri, Uri::Other { .. }) {
            return Err(Answer::plain(416, "Unsupported URI Scheme"));
        }
        if request.max_forwards().ok().flatten() == Some(0) {
            return Err(Answer::plain(483, "Too Many Hops"));
        }
        if *method != Method::Cancel {
            let unsupported = unsupported_option_tags(request);
            if !unsupported.is_empty() {
                return Err(Answer {
                    code: 420,
                    reason: "Bad Extension",
                    headers: vec![(HeaderName::Unsupported, unsupported.join(", "))],
                });
            }
        }
        if matches!(method, Method::Extension(_)) {
            return Err(Answer::not_implemented());
        }
        if *method == Method::Cancel {
            return Err(match cancels_transaction {
                true => Answer::plain(200, "OK"),
                false => Answer::plain(481, "Call/Transaction Does Not Exist"),
            });
        }
        if *method == Method::Register {
            return match self.target(uri) {
                Target::Elsewhere => Err(Answer::plain(403, "Forbidden (not a local domain)")),
                _ => Ok(Verdict::Register),
            };
        }
        if self.top_route_is_us(request) {
            return Ok(Verdict::Proxy);
        }
        match self.target(uri) {
            Target::Elsewhere if self.federation => Ok(Verdict::Proxy),
            Target::Elsewhere => Err(Answer::plain(
                403,
                "Forbidden (relaying to other domains is not enabled)",
            )),
            Target::User if matches!(uri, Uri::Tel(_)) => Err(Answer::plain(404, "Not Found")),
            Target::User => Ok(Verdict::Proxy),
            Target::Server => Err(match method {
                Method::Options => capabilities(),
                Method::Bye => Answer::plain(481, "Call/Transaction Does Not Exist"),
                // The server itself serves no event package: presence is served per user
                // (RFC 6665 §4.2.1.1, §8.2.2).
                Method::Subscribe | Method::Publish => Answer {
                    code: 489,
                    reason: "Bad Event",
                    headers: vec![(
                        HeaderName::AllowEvents,
                        crate::presence::ALLOW_EVENTS.to_owned(),
                    )],
                },
                _ => Answer::not_allowed(),
            }),
        }
    }

    /// Whether a URI names this server (not a user of it): the URIs we put in Record-Route,
    /// or a Route an outbound-proxy client preloads.
    pub fn is_us(&self, uri: &SipUri) -> bool {
        uri.user.is_none() && self.domains.is_local(&uri.host, uri.port)
    }

    /// Whether the request's first Route names us (§16.4), or its Request-URI is one of our
    /// Record-Route values put there by a strict router.
    fn top_route_is_us(&self, request: &Message) -> bool {
        let strict = request
            .uri()
            .and_then(Uri::as_sip)
            .is_some_and(|u| u.param("lr").is_some() && self.is_us(u))
            && request.headers.get(&HeaderName::Route).is_some();
        strict
            || request
                .name_addrs(&HeaderName::Route)
                .ok()
                .and_then(|r| r.into_iter().next())
                .and_then(|r| r.uri.as_sip().map(|u| self.is_us(u)))
                .unwrap_or(false)
    }

    fn target(&self, uri: &Uri) -> Target {
        match uri {
            Uri::Sip(sip) => {
                if !self.domains.is_local(&sip.host, sip.port) {
                    Target::Elsewhere
                } else if sip.user.is_some() {
                    Target::User
                } else {
                    Target::Server
                }
            }
            // A telephone number: no number is routed here.
            Uri::Tel(_) | Uri::Other { .. } => Target::User,
        }
    }
}

/// Whom a request is for.
enum Target {
    /// The server itself (§11: OPTIONS to a server).
    Server,
    /// A user (or number) at one of our domains.
    User,
    /// Another domain.
    Elsewhere,
}

/// The 200 to an OPTIONS addressed to us (§11.2).
fn capabilities() -> Answer {
    Answer {
        code: 200,
        reason: "OK",
        headers: vec![
            (HeaderName::Allow, ALLOWED_METHODS.to_owned()),
            (HeaderName::Accept, ACCEPTED_BODY_TYPES.to_owned()),
            (
                HeaderName::Other(Bytes::from_static(b"Accept-Encoding")),
                "identity".to_owned(),
            ),
            (
                HeaderName::Other(Bytes::from_static(b"Accept-Language")),
                "en".to_owned(),
            ),
            (HeaderName::Supported, SUPPORTED_OPTION_TAGS.join(", ")),
            (
                HeaderName::AllowEvents,
                crate::presence::ALLOW_EVENTS.to_owned(),
            ),
        ],
    }
}

/// The option tags of `Proxy-Require` and `Require` we do not support, each once, in order.
fn unsupported_option_tags(request: &Message) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in [HeaderName::ProxyRequire, HeaderName::Require] {
        // validate() has checked these parse; a failure here would be a sip-crate bug, and
        // the request is then treated as requiring nothing.
        for tag in request.tokens(&name).unwrap_or_default() {
            if !SUPPORTED_OPTION_TAGS.contains(&tag) && !out.iter().any(|t| t == tag) {
                out.push(tag.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
