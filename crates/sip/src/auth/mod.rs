//! Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760), sans-IO: pure
//! computations over strings, with time as an argument (unix seconds).
//!
//! Server side, per request:
//! 1. no credentials for our realm → answer 401 (`WWW-Authenticate`, registrar) or 407
//!    (`Proxy-Authenticate`, proxy) with [`Authenticator::challenge`];
//! 2. otherwise parse them with [`Credentials::parse`], look up the user's stored [`Ha1s`] by
//!    `username` and realm, and call [`Authenticator::verify`] with a [`NonceCounts`]:
//!    [`Outcome::Ok`] → proceed; [`Outcome::Stale`] → challenge with `stale=true`;
//!    anything else → challenge again (or 403, by policy).
//!
//! Client side: [`client::select_challenge`] and [`client::authorization`].
//!
//! - [`digest`]: `HA1`, `HA2` and request-digest computation (MD5, SHA-256, `-sess`).
//! - [`nonce`]: stateless nonces (HMAC over issue time, salt and realm) that expire.
//! - [`replay`]: bounded nonce-count tracking against replays.
//! - [`challenge`]: `WWW-Authenticate` / `Proxy-Authenticate` values.
//! - [`verify`]: parsing and checking `Authorization` / `Proxy-Authorization` credentials.
//! - [`client`]: computing credentials from a challenge.

pub mod challenge;
pub mod client;
pub mod digest;
pub mod nonce;
pub mod replay;
pub mod verify;

#[cfg(test)]
mod tests;

pub use challenge::{challenge_values, Challenge};
pub use client::{authorization, select_challenge, ClientError, ClientRequest};
pub use digest::{ha1, request_digest, Algorithm, DigestInput, Ha1s, QopAuth};
pub use nonce::{NonceKey, NonceStatus, DEFAULT_NONCE_LIFETIME};
pub use replay::{NcCheck, NonceCounts};
pub use verify::{
    Authenticator, Credentials, CredentialsError, Invalid, Outcome, QopParams, RequestInfo,
    StaleReason, UriCheck,
};

use std::borrow::Cow;

/// `s` as a quoted-string (RFC 3261 §25.1), escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// A raw parameter value (as kept by [`crate::header::AuthParams`]) without its quotes and with
/// quoted-pairs (`\x`) resolved (RFC 3261 §25.1).
pub(crate) fn unquote(raw: &str) -> Cow<'_, str> {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(raw);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The unquoted value of parameter `name` (case-insensitive) in `params`.
pub(crate) fn param<'a>(
    params: &crate::header::AuthParams<'a>,
    name: &str,
) -> Option<Cow<'a, str>> {
    params
        .params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| unquote(v))
}

#[cfg(test)]
mod quoting_tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for s in ["plain", "with \"quotes\"", "back\\slash", ""] {
            assert_eq!(unquote(&quote(s)), s);
        }
        assert_eq!(unquote("token"), "token");
        assert!(matches!(unquote("\"x\""), Cow::Borrowed("x")));
    }
}
