//! Digest authentication of requests (RFC 3261 §22, RFC 8760): who is challenged, with which
//! status, in which realm, and the check of the credentials that come back.
//!
//! - REGISTER is challenged by the registrar: `401` with `WWW-Authenticate`, credentials in
//!   `Authorization` (§22.2). The realm is the domain of the To URI (the address of record).
//! - MESSAGE, SUBSCRIBE, PUBLISH and INVITE outside a dialog whose From names one of our
//!   domains are challenged by the proxy: `407` with `Proxy-Authenticate`, credentials in
//!   `Proxy-Authorization` (§22.3). The realm is the From domain. Requests inside a dialog
//!   (To tag), CANCEL and ACK (§22.1: they cannot be resubmitted), and requests from other
//!   domains (the sender is not ours to authenticate) pass unchallenged.
//! - Every challenge offers SHA-256 then MD5 with `qop=auth` and a stateless nonce
//!   (HMAC over issue time and realm, `parley_sip::auth::NonceKey`); an expired or replayed
//!   nonce with a correct digest gets a new challenge with `stale=true`.
//! - Wrong credentials get a new challenge (not `403`): the client can ask its user again,
//!   and an unknown user is answered exactly like a wrong password, so that answers do not
//!   tell which users exist.
//!
//! The digest `username` is the user part of the address (`alice` for `alice@example.com`);
//! a full `alice@example.com` is accepted too. The nonce-count memory against replays is
//! shared by every check of the process, behind a mutex held only for one hash-map update.

use parley_sip::auth::{
    Algorithm, Authenticator, Credentials, Ha1s, NonceCounts, NonceKey, Outcome, RequestInfo,
};
use parley_sip::{HeaderName, Message, Method};
use parley_store::{Address, User};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Nonces whose counts are remembered at once; beyond it the oldest are forgotten and their
/// clients get `stale=true` (they retry transparently).
const NONCE_COUNT_CAPACITY: usize = parley_sip::auth::replay::DEFAULT_NONCE_COUNT_CAPACITY;

/// Which element challenges: the registrar (`401`) or the proxy (`407`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenger {
    Registrar,
    Proxy,
}

impl Challenger {
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Challenger::Registrar => (401, "Unauthorized"),
            Challenger::Proxy => (407, "Proxy Authentication Required"),
        }
    }

    /// The header carrying the challenge.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            Challenger::Registrar => HeaderName::WwwAuthenticate,
            Challenger::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header carrying the answer to it.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            Challenger::Registrar => HeaderName::Authorization,
            Challenger::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// Whether the proxy must authenticate the sender of a request routed by it: new requests
/// of the methods that act in a user's name (a message sent, a subscription, a publication,
/// a call), from one of our domains, outside a dialog.
pub fn proxy_challenges(method: &Method, from_is_local: bool, in_dialog: bool) -> bool {
    from_is_local
        && !in_dialog
        && matches!(
            method,
            Method::Message | Method::Subscribe | Method::Publish | Method::Invite
        )
}

/// What the credentials of a request amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The request comes from this user.
    Authenticated(Address),
    /// No usable credentials: challenge (again), with `stale=true` when only the nonce was
    /// at fault.
    Challenge { stale: bool },
}

/// The digest authenticator of the server: the nonce key and the replay memory.
#[derive(Debug)]
pub struct DigestAuth {
    authenticator: Authenticator,
    counts: Mutex<NonceCounts>,
    /// Offered in this order; the only ones accepted (their base hash).
    algorithms: Vec<Algorithm>,
}

impl DigestAuth {
    /// `secret` signs nonces (see `secret.rs`); nonces are fresh for `nonce_lifetime`;
    /// challenges offer `algorithms` in this order (SHA-256 and MD5 both, if empty).
    pub fn new(
        secret: &[u8],
        salt_seed: u64,
        nonce_lifetime: Duration,
        algorithms: &[Algorithm],
    ) -> DigestAuth {
        let mut authenticator = Authenticator::new(NonceKey::new(secret, salt_seed));
        authenticator.nonce_lifetime = nonce_lifetime.as_secs().max(1);
        // RFC 2069 credentials carry no nonce-count: a captured request could be replayed
        // while its nonce is fresh. Every client we know of answers `qop=auth`.
        authenticator.allow_rfc2069 = false;
        let mut offered: Vec<Algorithm> = Vec::new();
        for a in algorithms.iter().map(|a| a.base()) {
            if !offered.contains(&a) {
                offered.push(a);
            }
        }
        if offered.is_empty() {
            offered = vec![Algorithm::Sha256, Algorithm::Md5];
        }
        DigestAuth {
            authenticator,
            counts: Mutex::new(NonceCounts::new(NONCE_COUNT_CAPACITY)),
            algorithms: offered,
        }
    }

    /// The user the request's credentials for `realm` claim to be, if it has any: the key
    /// to look up their `HA1`s before [`DigestAuth::verify`].
    pub fn claimed_user(request: &Message, who: Challenger, realm: &str) -> Option<Address> {
        let creds = credentials_for(request, who, realm)?;
        let name = creds.username.as_ref();
        if name.contains('@') {
            Address::parse(name).ok()
        } else {
            Address::parse(&format!("{name}@{realm}")).ok()
        }
    }

    /// Checks the request's credentials for `realm` against `user` (the result of looking up
    /// [`DigestAuth::claimed_user`]; `None` when unknown) at `now` (unix seconds).
    pub fn verify(
        &self,
        request: &Message,
        who: Challenger,
        realm: &str,
        user: Option<&User>,
        now: u64,
    ) -> Verdict {
        let (Some(creds), Some(method), Some(uri)) = (
            credentials_for(request, who, realm),
            request.method(),
            request.uri(),
        ) else {
            return Verdict::Challenge { stale: false };
        };
        let Some(claimed) = DigestAuth::claimed_user(request, who, realm) else {
            return Verdict::Challenge { stale: false };
        };
        if !self.algorithms.contains(&creds.algorithm.base()) {
            return Verdict::Challenge { stale: false };
        }
        let ha1s = user
            .filter(|u| u.address == claimed && u.ha1.realm == realm)
            .map(|u| Ha1s {
                md5: u.ha1.md5.clone(),
                sha256: u.ha1.sha256.clone(),
            });
        let info = RequestInfo {
            method: method.as_str(),
            request_uri: uri,
            realm,
        };
        let outcome = {
            // A panic while holding the lock leaves the counts consistent (each update is
            // one insert), so a poisoned lock is still usable.
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            self.authenticator
                .verify(&creds, &info, ha1s.as_ref(), now, &mut counts)
        };
        match outcome {
            Outcome::Ok { .. } => Verdict::Authenticated(claimed),
            Outcome::Stale(reason) => {
                tracing::debug!(user = %claimed, ?reason, "stale nonce");
                Verdict::Challenge { stale: true }
            }
            Outcome::Invalid(why) => {
                tracing::debug!(user = %claimed, %why, "credentials refused");
                Verdict::Challenge { stale: false }
            }
            Outcome::UnknownAlgorithm => Verdict::Challenge { stale: false },
        }
    }

    /// The header values of a new challenge for `realm`, one per offered algorithm, in
    /// order, sharing one nonce.
    pub fn challenge(&self, realm: &str, now: u64, stale: bool) -> Vec<String> {
        // The core issues SHA-256 then MD5 (`parley_sip::auth::challenge::OFFERED_ALGORITHMS`).
        let [sha256, md5] = self.authenticator.challenge(realm, now, stale);
        self.algorithms
            .iter()
            .filter_map(|a| match a {
                Algorithm::Sha256 => Some(sha256.clone()),
                Algorithm::Md5 => Some(md5.clone()),
                _ => None,
            })
            .collect()
    }

    /// Forgets the counts of nonces that have expired.
    pub fn purge(&self, now: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.purge(now, self.authenticator.nonce_lifetime);
    }
}

/// The first digest credentials of the request for `realm` (a request may carry credentials
/// for several realms, §22.3).
fn credentials_for<'a>(
    request: &'a Message,
    who: Challenger,
    realm: &str,
) -> Option<Credentials<'a>> {
    let all = request.auth_params(&who.credentials_header()).ok()?;
    all.iter()
        .filter_map(|p| Credentials::parse(p).ok())
        .find(|c| c.realm == realm)
}

/// Removes the `Proxy-Authorization` values for our realm before a request is forwarded:
/// they were meant for us (§22.3) and the next hop has no use for them.
pub fn strip_proxy_credentials(request: &mut Message, realm: &str) {
    let ours: Vec<bool> = request
        .headers
        .all(&HeaderName::ProxyAuthorization)
        .map(|h| {
            h.value_str()
                .and_then(|v| parley_sip::header::AuthParams::parse(v, "Proxy-Authorization").ok())
                .and_then(|p| Credentials::parse(&p).ok().map(|c| c.realm == realm))
                .unwrap_or(false)
        })
        .collect();
    if !ours.iter().any(|o| *o) {
        return;
    }
    let kept: Vec<_> = request
        .headers
        .all(&HeaderName::ProxyAuthorization)
        .zip(&ours)
        .filter(|(_, ours)| !**ours)
        .map(|(h, _)| h.value.clone())
        .collect();
    request.headers.remove_all(&HeaderName::ProxyAuthorization);
    for v in kept {
        request.headers.push(HeaderName::ProxyAuthorization, v);
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
