//! `WWW-Authenticate` / `Proxy-Authenticate` values (RFC 3261 §22.1, §22.3, §20.44; RFC 7616
//! §3.3; RFC 8760 §2.3): one per algorithm, most preferred first, all with the same realm
//! and nonce, always with `qop="auth"` (RFC 8760 §2.6 item 8).

use super::digest::Algorithm;
use super::quote;

/// One digest challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub realm: &'a str,
    pub nonce: &'a str,
    /// Echoed unchanged by the client (RFC 7616 §3.3); `None` to omit.
    pub opaque: Option<&'a str>,
    pub algorithm: Algorithm,
    /// `stale=true`: the previous credentials were right but the nonce was not fresh, so the
    /// client may retry without asking the user for a password again.
    pub stale: bool,
}

/// The algorithms offered, in order of preference (RFC 8760 §2.3: the UAS lists its most
/// preferred algorithm first; clients use the topmost one they support, §2.4).
pub const OFFERED_ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

impl Challenge<'_> {
    /// The header field value, e.g.
    /// `Digest realm="example.test", nonce="…", algorithm=SHA-256, qop="auth"`.
    pub fn header_value(&self) -> String {
        let mut v = format!(
            "Digest realm={}, nonce={}",
            quote(self.realm),
            quote(self.nonce)
        );
        if let Some(opaque) = self.opaque {
            v.push_str(", opaque=");
            v.push_str(&quote(opaque));
        }
        v.push_str(", algorithm=");
        v.push_str(self.algorithm.as_str());
        v.push_str(", qop=\"auth\"");
        if self.stale {
            v.push_str(", stale=true");
        }
        v
    }
}

/// The header values of a challenge: SHA-256 first, then MD5 (RFC 8760 §2.3), sharing one
/// nonce. Put each in its own `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) field,
/// in this order.
pub fn challenge_values(
    realm: &str,
    nonce: &str,
    opaque: Option<&str>,
    stale: bool,
) -> [String; 2] {
    OFFERED_ALGORITHMS.map(|algorithm| {
        Challenge {
            realm,
            nonce,
            opaque,
            algorithm,
            stale,
        }
        .header_value()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::AuthParams;

    #[test]
    fn values_parse_back() {
        let [sha, md5] = challenge_values("example.test", "abc", Some("o\"q"), true);
        assert_eq!(
            sha,
            r#"Digest realm="example.test", nonce="abc", opaque="o\"q", algorithm=SHA-256, qop="auth", stale=true"#
        );
        assert!(md5.contains("algorithm=MD5,"));
        let p = AuthParams::parse(&md5, "WWW-Authenticate").unwrap();
        assert_eq!(p.scheme, "Digest");
        assert_eq!(p.get("realm"), Some("example.test"));
        assert_eq!(p.get("qop"), Some("auth"));
        let [plain, _] = challenge_values("r", "n", None, false);
        assert_eq!(
            plain,
            r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth""#
        );
    }
}
