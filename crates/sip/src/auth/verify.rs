//! Checking `Authorization` / `Proxy-Authorization` digest credentials (RFC 3261 §22.2–§22.4,
//! RFC 7616 §3.4–§3.5, RFC 8760 §2.6).
//!
//! **The `uri` parameter** ([`UriCheck::Loose`], the default). The digest covers the `uri`
//! parameter as sent, so tampering with it is caught by the response check. RFC 7616 §3.4.6
//! asks servers to check that it names the requested resource; RFC 8760 §2.6 item 6 notes that
//! in SIP the two may legitimately differ after forwarding and lets the UAS accept them anyway.
//! We accept the credentials when the `uri` parameter equals the Request-URI as text, or when
//! both are SIP URIs with the same user part (unescaped) and host (case-insensitive), ignoring
//! scheme (`sip`/`sips`), port, parameters and headers — clients and outbound proxies vary
//! those (`;transport=tcp`, `;ob`, default ports). Credentials computed for another user or
//! domain are refused. [`UriCheck::Off`] skips the check.

use std::borrow::Cow;

use subtle::ConstantTimeEq;

use super::challenge::challenge_values;
use super::digest::{request_digest, Algorithm, DigestInput, Ha1s, QopAuth};
use super::nonce::{NonceKey, NonceStatus, DEFAULT_NONCE_LIFETIME};
use super::param;
use super::replay::{NcCheck, NonceCounts};
use crate::header::AuthParams;
use crate::uri::Uri;

/// Digest credentials as received, unquoted (RFC 3261 §25.1 `digest-response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub username: Cow<'a, str>,
    pub realm: Cow<'a, str>,
    pub nonce: Cow<'a, str>,
    /// The `uri` parameter (digest-uri) as sent.
    pub uri: Cow<'a, str>,
    /// The request digest, lowercased.
    pub response: String,
    /// `MD5` when absent (RFC 3261 §22.4 via RFC 2617).
    pub algorithm: Algorithm,
    /// `Some` for `qop=auth`; `None` for the RFC 2069 form.
    pub qop: Option<QopParams<'a>>,
    pub opaque: Option<Cow<'a, str>>,
}

/// The `nc` and `cnonce` of `qop=auth` credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QopParams<'a> {
    /// `nc` as sent (it is hashed as sent).
    pub nc: Cow<'a, str>,
    /// `nc` as a number.
    pub nc_value: u32,
    pub cnonce: Cow<'a, str>,
}

/// Why credentials could not be read. All are the client's fault (→ a new challenge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("authorization scheme is not Digest")]
    NotDigest,
    #[error("digest credentials lack `{0}`")]
    Missing(&'static str),
    #[error("unsupported digest algorithm")]
    UnknownAlgorithm,
    #[error("unsupported qop (only `auth` is offered)")]
    UnsupportedQop,
    #[error("nonce-count is not 1 to 8 hex digits")]
    BadNonceCount,
}

impl<'a> Credentials<'a> {
    /// Reads digest credentials from a parsed `Authorization` / `Proxy-Authorization` value.
    pub fn parse(params: &AuthParams<'a>) -> Result<Credentials<'a>, CredentialsError> {
        if !params.scheme.eq_ignore_ascii_case("Digest") {
            return Err(CredentialsError::NotDigest);
        }
        let req = |name: &'static str| param(params, name).ok_or(CredentialsError::Missing(name));
        let algorithm = match param(params, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or(CredentialsError::UnknownAlgorithm)?,
        };
        let qop = match param(params, "qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = req("nc")?;
                let valid =
                    (1..=8).contains(&nc.len()) && nc.bytes().all(|b| b.is_ascii_hexdigit());
                let nc_value = u32::from_str_radix(&nc, 16)
                    .ok()
                    .filter(|_| valid)
                    .ok_or(CredentialsError::BadNonceCount)?;
                Some(QopParams {
                    nc,
                    nc_value,
                    cnonce: req("cnonce")?,
                })
            }
            Some(_) => return Err(CredentialsError::UnsupportedQop),
        };
        if qop.is_none() && algorithm.is_session() {
            // `-sess` needs a client nonce (RFC 7616 §3.4.2).
            return Err(CredentialsError::Missing("qop"));
        }
        Ok(Credentials {
            username: req("username")?,
            realm: req("realm")?,
            nonce: req("nonce")?,
            uri: req("uri")?,
            response: req("response")?.to_ascii_lowercase(),
            algorithm,
            qop,
            opaque: param(params, "opaque"),
        })
    }
}

/// How strictly the `uri` parameter must match the Request-URI (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriCheck {
    /// Same text, or same user and host.
    #[default]
    Loose,
    /// No check (the digest still covers the `uri` parameter).
    Off,
}

/// The request the credentials came with.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The request method (RFC 3261 §22.4).
    pub method: &'a str,
    /// The Request-URI of the request.
    pub request_uri: &'a Uri,
    /// The realm we challenge with for this request (usually the domain).
    pub realm: &'a str,
}

/// The result of [`Authenticator::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The credentials are right and fresh.
    Ok {
        username: String,
        algorithm: Algorithm,
    },
    /// The response digest is right but the nonce cannot be used (any more): challenge again
    /// with `stale=true` (RFC 7616 §3.3), the client retries without asking its user.
    Stale(StaleReason),
    /// Wrong or unusable credentials: challenge again without `stale`.
    Invalid(Invalid),
    /// An algorithm we do not support: challenge again (the client must pick one we offered).
    UnknownAlgorithm,
}

/// Why a correct response was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    /// The nonce is older than its lifetime.
    Expired,
    /// The nonce-count was not higher than one already accepted (a replay, or a client that
    /// reuses a nonce without counting).
    Replayed,
    /// The nonce was forgotten by the bounded replay memory.
    Forgotten,
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error(transparent)]
    Malformed(CredentialsError),
    #[error("credentials are for another realm")]
    RealmMismatch,
    /// No stored `HA1`s were given. Answer it exactly like [`Invalid::WrongResponse`], so that
    /// responses do not reveal which users exist.
    #[error("the user is unknown")]
    UnknownUser,
    #[error("qop=auth is required")]
    QopRequired,
    #[error("opaque does not match the challenge")]
    OpaqueMismatch,
    #[error("nonce was not issued by this server for this realm")]
    ForgedNonce,
    #[error("uri does not match the Request-URI")]
    UriMismatch,
    #[error("wrong response digest (wrong password?)")]
    WrongResponse,
}

impl From<CredentialsError> for Outcome {
    fn from(e: CredentialsError) -> Outcome {
        match e {
            CredentialsError::UnknownAlgorithm => Outcome::UnknownAlgorithm,
            e => Outcome::Invalid(Invalid::Malformed(e)),
        }
    }
}

/// Issues challenges and verifies credentials with one nonce key and policy.
#[derive(Debug)]
pub struct Authenticator {
    key: NonceKey,
    /// Seconds a nonce stays fresh (default [`DEFAULT_NONCE_LIFETIME`]).
    pub nonce_lifetime: u64,
    /// Accept MD5 credentials without `qop` from RFC 2069 clients (default `true`). They
    /// carry no nonce-count, so a captured request can be replayed while its nonce is fresh.
    pub allow_rfc2069: bool,
    pub uri_check: UriCheck,
    /// Sent in challenges and required back unchanged when set (default none).
    pub opaque: Option<String>,
}

impl Authenticator {
    pub fn new(key: NonceKey) -> Authenticator {
        Authenticator {
            key,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
            allow_rfc2069: true,
            uri_check: UriCheck::Loose,
            opaque: None,
        }
    }

    /// The two challenge values (SHA-256 then MD5, RFC 8760 §2.3) with a new nonce for
    /// `realm`; `stale` after an [`Outcome::Stale`].
    pub fn challenge(&self, realm: &str, now: u64, stale: bool) -> [String; 2] {
        let nonce = self.key.issue(realm, now);
        challenge_values(realm, &nonce, self.opaque.as_deref(), stale)
    }

    /// Checks credentials against the stored `HA1`s of the user they name (`creds.username` in
    /// `creds.realm`; `None`: no such user) at `now` (unix seconds), recording the nonce-count
    /// in `counts` when they are accepted. Checks run in this order: realm, qop policy, opaque,
    /// nonce authenticity, `uri`, user, response digest; only then nonce age and nonce-count,
    /// so [`Outcome::Stale`] is returned only to a client that knows the password.
    ///
    /// `counts` should be shared by every request checked with this key (one per server
    /// process); with several, a request could be replayed once per instance.
    pub fn verify(
        &self,
        creds: &Credentials<'_>,
        request: &RequestInfo<'_>,
        ha1s: Option<&Ha1s>,
        now: u64,
        counts: &mut NonceCounts,
    ) -> Outcome {
        let fail = Outcome::Invalid;
        if creds.realm != request.realm {
            return fail(Invalid::RealmMismatch);
        }
        if creds.qop.is_none() && !(self.allow_rfc2069 && creds.algorithm == Algorithm::Md5) {
            return fail(Invalid::QopRequired);
        }
        if let Some(expected) = &self.opaque {
            if creds.opaque.as_deref() != Some(expected.as_str()) {
                return fail(Invalid::OpaqueMismatch);
            }
        }
        let issued_at = match self
            .key
            .check(&creds.nonce, request.realm, now, self.nonce_lifetime)
        {
            NonceStatus::Forged => return fail(Invalid::ForgedNonce),
            NonceStatus::Fresh { issued_at } => Ok(issued_at),
            NonceStatus::Expired { issued_at } => Err(issued_at),
        };
        if self.uri_check == UriCheck::Loose && !uri_matches(&creds.uri, request.request_uri) {
            return fail(Invalid::UriMismatch);
        }
        let Some(ha1s) = ha1s else {
            return fail(Invalid::UnknownUser);
        };
        let input = DigestInput {
            algorithm: creds.algorithm,
            nonce: &creds.nonce,
            method: request.method,
            uri: &creds.uri,
            qop_auth: creds.qop.as_ref().map(|q| QopAuth {
                nc: &q.nc,
                cnonce: &q.cnonce,
            }),
        };
        let expected = request_digest(ha1s.for_algorithm(creds.algorithm), &input);
        if !bool::from(expected.as_bytes().ct_eq(creds.response.as_bytes())) {
            return fail(Invalid::WrongResponse);
        }
        let Ok(issued_at) = issued_at else {
            return Outcome::Stale(StaleReason::Expired);
        };
        if let Some(q) = &creds.qop {
            match counts.check_and_record(
                &creds.nonce.to_ascii_lowercase(),
                issued_at,
                q.nc_value,
                now,
                self.nonce_lifetime,
            ) {
                NcCheck::Fresh => {}
                NcCheck::Replayed => return Outcome::Stale(StaleReason::Replayed),
                NcCheck::Forgotten => return Outcome::Stale(StaleReason::Forgotten),
            }
        }
        Outcome::Ok {
            username: creds.username.clone().into_owned(),
            algorithm: creds.algorithm,
        }
    }
}

/// [`UriCheck::Loose`]: same text, or both SIP URIs with the same user and host.
fn uri_matches(digest_uri: &str, request_uri: &Uri) -> bool {
    if digest_uri == request_uri.to_string() {
        return true;
    }
    match (Uri::parse(digest_uri), request_uri) {
        (Ok(Uri::Sip(d)), Uri::Sip(r)) => {
            d.user_unescaped() == r.user_unescaped() && d.host.matches(&r.host)
        }
        (Ok(d), r) => &d == r,
        (Err(_), _) => false,
    }
}
