//! The digest computations of RFC 7616 §3.4 as applied to SIP by RFC 3261 §22.4 and
//! RFC 8760 §2: `H`, `HA1`, `HA2` and the request digest, for MD5 and SHA-256 and their
//! `-sess` variants. Pure functions over strings; digests are lowercase hex (RFC 8760 §2.2).

use md5::Md5;
use sha2::{Digest, Sha256};

/// A digest algorithm (RFC 8760 §2.1; the IANA "Hash Algorithms for HTTP Digest
/// Authentication" registry). `-sess` variants compute a session `HA1` (RFC 7616 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the RFC 3261 default when no `algorithm` parameter is present.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Parses an `algorithm` token (case-insensitive, RFC 7616 §3.3); `None` if unsupported
    /// (e.g. `SHA-512-256`, `AKAv1-MD5`).
    pub fn parse(s: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// The token as sent in `algorithm=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether `HA1` is the session form `H(H(user:realm:password):nonce:cnonce)`.
    pub fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The hash function without the session variant: the one the stored `HA1` uses.
    pub fn base(self) -> Algorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Algorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => Algorithm::Sha256,
        }
    }

    /// Length of a digest in lowercase hex (32 or 64, RFC 8760 §2.2).
    pub fn hex_len(self) -> usize {
        match self.base() {
            Algorithm::Sha256 => 64,
            _ => 32,
        }
    }

    /// `H(p1 ":" p2 ":" ...)` in lowercase hex.
    pub fn hash_joined(self, parts: &[&[u8]]) -> String {
        match self.base() {
            Algorithm::Sha256 => hex(&joined::<Sha256>(parts)),
            _ => hex(&joined::<Md5>(parts)),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn joined<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(p);
    }
    d.finalize().to_vec()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// `HA1 = H(username ":" realm ":" password)` (RFC 7616 §3.4.2) with the base hash of
/// `algorithm`. Computed once when a user is created or changes password; only this value
/// is stored, never the password.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm
        .base()
        .hash_joined(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// The stored `HA1` values of one user for one realm: one per base hash algorithm.
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1s {
    /// `MD5(username:realm:password)`, 32 lowercase hex digits.
    pub md5: String,
    /// `SHA-256(username:realm:password)`, 64 lowercase hex digits.
    pub sha256: String,
}

impl Ha1s {
    /// Both values from a password (at user creation or password change).
    pub fn compute(username: &str, realm: &str, password: &str) -> Ha1s {
        Ha1s {
            md5: ha1(Algorithm::Md5, username, realm, password),
            sha256: ha1(Algorithm::Sha256, username, realm, password),
        }
    }

    /// The value for `algorithm`'s base hash.
    pub fn for_algorithm(&self, algorithm: Algorithm) -> &str {
        match algorithm.base() {
            Algorithm::Sha256 => &self.sha256,
            _ => &self.md5,
        }
    }
}

impl std::fmt::Debug for Ha1s {
    /// Redacted: an `HA1` is password-equivalent for its realm.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ha1s(..)")
    }
}

/// `qop=auth` inputs (RFC 7616 §3.4.1): the nonce-count as sent (8 hex digits) and the
/// client nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QopAuth<'a> {
    pub nc: &'a str,
    pub cnonce: &'a str,
}

/// Everything but `HA1` that the request digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestInput<'a> {
    pub algorithm: Algorithm,
    pub nonce: &'a str,
    /// The request method (RFC 3261 §22.4: the method of the request carrying credentials).
    pub method: &'a str,
    /// The `uri` parameter exactly as sent (the digest-uri, RFC 8760 §2.6 item 3).
    pub uri: &'a str,
    /// `Some` for `qop=auth`; `None` for the RFC 2069 form (no `qop`, no `nc`, no `cnonce`).
    pub qop_auth: Option<QopAuth<'a>>,
}

/// The request digest (`response` parameter), RFC 7616 §3.4.1:
/// `H(HA1 ":" nonce ":" nc ":" cnonce ":" "auth" ":" HA2)` with `HA2 = H(method ":" uri)`,
/// or `H(HA1 ":" nonce ":" HA2)` for RFC 2069. For `-sess`, `HA1` is first replaced by
/// `H(HA1 ":" nonce ":" cnonce)` (RFC 7616 §3.4.2). `ha1` is the stored (non-session) value.
pub fn request_digest(ha1: &str, input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    let cnonce = input.qop_auth.map_or("", |q| q.cnonce);
    let session_ha1;
    let ha1 = if alg.is_session() {
        session_ha1 = alg.hash_joined(&[ha1.as_bytes(), input.nonce.as_bytes(), cnonce.as_bytes()]);
        session_ha1.as_str()
    } else {
        ha1
    };
    let ha2 = alg.hash_joined(&[input.method.as_bytes(), input.uri.as_bytes()]);
    match input.qop_auth {
        Some(q) => alg.hash_joined(&[
            ha1.as_bytes(),
            input.nonce.as_bytes(),
            q.nc.as_bytes(),
            q.cnonce.as_bytes(),
            b"auth",
            ha2.as_bytes(),
        ]),
        None => alg.hash_joined(&[ha1.as_bytes(), input.nonce.as_bytes(), ha2.as_bytes()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1, with `GET` as the method: both algorithms.
    #[test]
    fn rfc7616_example() {
        let ha1s = Ha1s::compute("Mufasa", "http-auth@example.org", "Circle of Life");
        let q = QopAuth {
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        };
        let mut input = DigestInput {
            algorithm: Algorithm::Md5,
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            method: "GET",
            uri: "/dir/index.html",
            qop_auth: Some(q),
        };
        assert_eq!(
            request_digest(&ha1s.md5, &input),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        input.algorithm = Algorithm::Sha256;
        assert_eq!(
            request_digest(&ha1s.sha256, &input),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    /// RFC 2617 §3.5 (the RFC 7616 MD5 formulas, qop=auth) — a second independent vector.
    #[test]
    fn rfc2617_example() {
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let input = DigestInput {
            algorithm: Algorithm::Md5,
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            method: "GET",
            uri: "/dir/index.html",
            qop_auth: Some(QopAuth {
                nc: "00000001",
                cnonce: "0a4f113b",
            }),
        };
        assert_eq!(
            request_digest(&ha1, &input),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn algorithm_tokens() {
        assert_eq!(Algorithm::parse("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("MD5-SESS"), Some(Algorithm::Md5Sess));
        assert_eq!(Algorithm::parse("SHA-512-256"), None);
        assert_eq!(Algorithm::Sha256Sess.base(), Algorithm::Sha256);
        assert_eq!(Algorithm::Sha256.hex_len(), 64);
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
        assert_eq!(format!("{:?}", Ha1s::compute("a", "b", "c")), "Ha1s(..)");
    }
}
