//! The client's side of digest authentication (RFC 3261 §22.2, §22.3; RFC 7616 §3.3, §3.4;
//! RFC 8760 §2.4) as a state machine with no I/O:
//!
//! - [`DigestClient`] keeps the last challenge of each realm (one per kind, 401 or 407) and
//!   puts credentials for it on every new request, counting the nonce up (`nc`, RFC 7616
//!   §3.4) with a fresh client nonce each time, so that refreshes and messages are not
//!   challenged again while the nonce lasts.
//! - [`Attempt`] follows one request through its challenges: a 401/407 after credentials
//!   computed from a challenge *received for this very request* means the password is wrong,
//!   unless the server says `stale=true` (the nonce expired; the password was right, §3.3).
//!   A challenge after credentials from an older nonce is simply answered. A few retries at
//!   most, whatever the server says.

use parley_sip::auth::client::{authorization, select_challenge, ClientRequest};
use parley_sip::header::AuthParams;
use parley_sip::{HeaderName, Message};
use rand::{Rng, SeedableRng};

/// Challenges answered for one request before giving up, even if each is `stale`.
const MAX_CHALLENGES: u32 = 4;
/// Realms remembered; a UA talks to one server, so a handful is plenty.
const MAX_REALMS: usize = 4;

/// A 401 from a registrar or UAS, or a 407 from a proxy (RFC 3261 §22.2, §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// `WWW-Authenticate` → `Authorization`.
    Www,
    /// `Proxy-Authenticate` → `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    /// The kind a status code asks for, if it is a challenge.
    pub fn of_status(code: u16) -> Option<ChallengeKind> {
        match code {
            401 => Some(ChallengeKind::Www),
            407 => Some(ChallengeKind::Proxy),
            _ => None,
        }
    }

    fn challenge_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::WwwAuthenticate,
            ChallengeKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header the credentials go in.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::Authorization,
            ChallengeKind::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// Why a challenge was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The server challenged credentials computed from its own fresh challenge: the password
    /// (or the user name) is wrong.
    #[error("the server refused the credentials for realm {realm:?}")]
    Refused { realm: String },
    /// Too many challenges in a row.
    #[error("the server kept challenging ({0} times)")]
    TooManyChallenges(u32),
    /// No challenge this client can answer (not Digest, unknown algorithm, no `qop=auth`
    /// or RFC 2069 form), or a malformed one.
    #[error("cannot answer the challenge: {0}")]
    Unanswerable(String),
}

/// The last challenge of one realm and how often its nonce was used.
#[derive(Debug, Clone)]
struct Cached {
    kind: ChallengeKind,
    realm: String,
    /// The challenge as received (re-parsed when used).
    value: String,
    /// The last nonce-count sent with this nonce.
    nc: u32,
}

/// The credentials of one account and the challenges they answer.
pub struct DigestClient {
    username: String,
    password: String,
    cache: Vec<Cached>,
    rng: rand::rngs::StdRng,
}

impl std::fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestClient")
            .field("username", &self.username)
            .field("realms", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// The progress of one request through its challenges.
#[derive(Debug, Default, Clone)]
pub struct Attempt {
    /// Challenges answered so far for this request.
    challenges: u32,
    /// The realms (and kinds) whose fresh challenge this request answered.
    answered: Vec<(ChallengeKind, String)>,
}

impl DigestClient {
    /// `username` is the user part of the account (RFC 3261 §22.4: the realm is the domain).
    pub fn new(username: &str, password: &str) -> DigestClient {
        DigestClient::with_rng(username, password, rand::rngs::StdRng::from_entropy())
    }

    /// With a seeded generator for client nonces (tests).
    pub fn with_rng(username: &str, password: &str, rng: rand::rngs::StdRng) -> DigestClient {
        DigestClient {
            username: username.to_owned(),
            password: password.to_owned(),
            cache: Vec::new(),
            rng,
        }
    }

    /// The credential header fields for a new request: one per remembered realm, each with
    /// the next nonce-count and a fresh client nonce.
    pub fn credentials(&mut self, method: &str, uri: &str) -> Vec<(HeaderName, String)> {
        let mut out = Vec::new();
        let mut broken = Vec::new();
        for (i, cached) in self.cache.iter_mut().enumerate() {
            let cnonce = format!("{:016x}", self.rng.gen::<u64>());
            cached.nc = cached.nc.saturating_add(1);
            let Ok(params) = AuthParams::parse(&cached.value, "WWW-Authenticate") else {
                broken.push(i);
                continue;
            };
            let request = ClientRequest {
                username: &self.username,
                password: &self.password,
                method,
                uri,
                cnonce: &cnonce,
                nc: cached.nc,
            };
            match authorization(&params, &request) {
                Ok(value) => out.push((cached.kind.credentials_header(), value)),
                Err(_) => broken.push(i),
            }
        }
        for i in broken.into_iter().rev() {
            self.cache.remove(i);
        }
        out
    }

    /// Takes in a `401` or `407` to the request `attempt` follows. `Ok` means: send the
    /// request again (new CSeq, same Call-ID) with [`DigestClient::credentials`].
    pub fn on_challenge(
        &mut self,
        response: &Message,
        attempt: &mut Attempt,
    ) -> Result<(), AuthFailure> {
        let kind = response
            .status()
            .and_then(ChallengeKind::of_status)
            .ok_or_else(|| AuthFailure::Unanswerable("not a 401 or 407".to_owned()))?;
        let challenges = response
            .auth_params(&kind.challenge_header())
            .map_err(|e| AuthFailure::Unanswerable(e.to_string()))?;
        let chosen = select_challenge(&challenges).ok_or_else(|| {
            AuthFailure::Unanswerable("no Digest challenge with a supported algorithm".to_owned())
        })?;
        let realm = chosen.get("realm").unwrap_or_default().to_owned();
        let stale = chosen
            .get("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        if attempt.challenges >= MAX_CHALLENGES {
            return Err(AuthFailure::TooManyChallenges(attempt.challenges));
        }
        let key = (kind, realm.clone());
        if attempt.answered.contains(&key) && !stale {
            self.forget(kind, &realm);
            return Err(AuthFailure::Refused { realm });
        }
        // Rebuilt as text: the parsed challenge borrows the response.
        let value = reprint(chosen);
        self.forget(kind, &realm);
        if self.cache.len() >= MAX_REALMS {
            self.cache.remove(0);
        }
        self.cache.push(Cached {
            kind,
            realm,
            value,
            nc: 0,
        });
        attempt.challenges += 1;
        if !attempt.answered.contains(&key) {
            attempt.answered.push(key);
        }
        Ok(())
    }

    fn forget(&mut self, kind: ChallengeKind, realm: &str) {
        self.cache.retain(|c| !(c.kind == kind && c.realm == realm));
    }
}

/// A challenge printed back to a header value (parameters as received, quotes kept).
fn reprint(params: &AuthParams<'_>) -> String {
    let mut value = params.scheme.to_owned();
    for (i, (name, raw)) in params.params.iter().enumerate() {
        value.push_str(if i == 0 { " " } else { ", " });
        value.push_str(name);
        value.push('=');
        value.push_str(raw);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parley_sip::auth::{
        Authenticator, Credentials, Ha1s, NonceCounts, NonceKey, Outcome, RequestInfo,
    };
    use parley_sip::{Limits, Uri};

    const REALM: &str = "example.test";

    fn client() -> DigestClient {
        DigestClient::with_rng("alice", "secret", rand::rngs::StdRng::seed_from_u64(7))
    }

    fn challenge(code: u16, values: &[String]) -> Message {
        let header = if code == 401 {
            "WWW-Authenticate"
        } else {
            "Proxy-Authenticate"
        };
        let mut text = format!(
            "SIP/2.0 {code} Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:alice@example.test>;tag=1\r\nTo: <sip:alice@example.test>;tag=2\r\n\
             Call-ID: c\r\nCSeq: 1 REGISTER\r\n"
        );
        for v in values {
            text.push_str(&format!("{header}: {v}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    /// A server-side check of what the client sends, with the real verifier.
    struct Server {
        auth: Authenticator,
        counts: NonceCounts,
        ha1s: Ha1s,
        now: u64,
    }

    impl Server {
        fn new(password: &str) -> Server {
            Server {
                auth: Authenticator::new(NonceKey::new(b"k", 1)),
                counts: NonceCounts::new(64),
                ha1s: Ha1s::compute("alice", REALM, password),
                now: 1_000_000,
            }
        }
        fn challenge(&self, stale: bool) -> [String; 2] {
            self.auth.challenge(REALM, self.now, stale)
        }
        fn verify(&mut self, value: &str) -> Outcome {
            let params = AuthParams::parse(value, "Authorization").unwrap();
            let creds = Credentials::parse(&params).unwrap();
            let uri = Uri::parse("sip:example.test").unwrap();
            let info = RequestInfo {
                method: "REGISTER",
                request_uri: &uri,
                realm: REALM,
            };
            self.auth
                .verify(&creds, &info, Some(&self.ha1s), self.now, &mut self.counts)
        }
    }

    #[test]
    fn answers_then_reuses_the_nonce_with_increasing_nc() {
        let mut server = Server::new("secret");
        let mut c = client();
        assert!(c.credentials("REGISTER", "sip:example.test").is_empty());
        let mut attempt = Attempt::default();
        c.on_challenge(&challenge(401, &server.challenge(false)), &mut attempt)
            .unwrap();
        let first = c.credentials("REGISTER", "sip:example.test");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, HeaderName::Authorization);
        assert!(first[0].1.contains("algorithm=SHA-256") && first[0].1.contains("nc=00000001"));
        assert!(matches!(server.verify(&first[0].1), Outcome::Ok { .. }));
        // The next request (a refresh) reuses the nonce: nc 2 and a new cnonce, accepted.
        let second = c.credentials("REGISTER", "sip:example.test");
        assert!(second[0].1.contains("nc=00000002"));
        assert_ne!(cnonce(&first[0].1), cnonce(&second[0].1));
        assert!(matches!(server.verify(&second[0].1), Outcome::Ok { .. }));
        // Replaying the first is caught by the server.
        assert!(matches!(server.verify(&first[0].1), Outcome::Stale(_)));
    }

    fn cnonce(value: &str) -> String {
        let params = AuthParams::parse(value, "Authorization").unwrap();
        params.get("cnonce").unwrap().to_owned()
    }

    #[test]
    fn a_second_fresh_challenge_means_a_wrong_password() {
        let mut server = Server::new("other");
        let mut c = client();
        let mut attempt = Attempt::default();
        c.on_challenge(&challenge(401, &server.challenge(false)), &mut attempt)
            .unwrap();
        let creds = c.credentials("REGISTER", "sip:example.test");
        assert!(matches!(server.verify(&creds[0].1), Outcome::Invalid(_)));
        let again = c.on_challenge(&challenge(401, &server.challenge(false)), &mut attempt);
        assert_eq!(
            again,
            Err(AuthFailure::Refused {
                realm: REALM.to_owned()
            })
        );
        // The refused challenge is forgotten: the next request goes without credentials.
        assert!(c.credentials("REGISTER", "sip:example.test").is_empty());
    }

    #[test]
    fn stale_is_answered_again_but_not_forever() {
        let server = Server::new("secret");
        let mut c = client();
        let mut attempt = Attempt::default();
        c.on_challenge(&challenge(401, &server.challenge(false)), &mut attempt)
            .unwrap();
        for _ in 0..MAX_CHALLENGES - 1 {
            c.on_challenge(&challenge(401, &server.challenge(true)), &mut attempt)
                .unwrap();
            let creds = c.credentials("REGISTER", "sip:example.test");
            assert!(
                creds[0].1.contains("nc=00000001"),
                "a new nonce counts from 1"
            );
        }
        assert_eq!(
            c.on_challenge(&challenge(401, &server.challenge(true)), &mut attempt),
            Err(AuthFailure::TooManyChallenges(MAX_CHALLENGES))
        );
    }

    /// Credentials from an older nonce (sent up front) that the server no longer takes are
    /// not a wrong password: the new challenge is answered.
    #[test]
    fn a_challenge_to_cached_credentials_is_answered() {
        let server = Server::new("secret");
        let mut c = client();
        c.on_challenge(
            &challenge(401, &server.challenge(false)),
            &mut Attempt::default(),
        )
        .unwrap();
        let mut next = Attempt::default();
        c.credentials("REGISTER", "sip:example.test");
        assert!(c
            .on_challenge(&challenge(401, &server.challenge(false)), &mut next)
            .is_ok());
    }

    #[test]
    fn proxy_challenges_go_in_proxy_authorization_and_unknown_schemes_fail() {
        let server = Server::new("secret");
        let mut c = client();
        c.on_challenge(
            &challenge(407, &server.challenge(false)),
            &mut Attempt::default(),
        )
        .unwrap();
        let creds = c.credentials("MESSAGE", "sip:bob@example.test");
        assert_eq!(creds[0].0, HeaderName::ProxyAuthorization);
        let basic = challenge(401, &["Basic realm=\"x\"".to_owned()]);
        assert!(matches!(
            c.on_challenge(&basic, &mut Attempt::default()),
            Err(AuthFailure::Unanswerable(_))
        ));
        assert!(matches!(
            c.on_challenge(&challenge(401, &[]), &mut Attempt::default()),
            Err(AuthFailure::Unanswerable(_))
        ));
    }
}
