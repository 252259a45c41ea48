//! Stateless nonces (RFC 7616 §3.3 and §5.4; RFC 3261 §22.4): a server can check a nonce it
//! issued without remembering it, and tell when it has expired.
//!
//! Layout (32 bytes, lowercase hex, 64 characters):
//! `issued_at (u64 BE unix seconds) || salt (u64 BE) || HMAC-SHA256(secret, issued_at || salt || realm)[..16]`.
//! The salt makes nonces issued in the same second for the same realm distinct, so that the
//! nonce-count replay check ([`super::NonceCounts`]) can key on the nonce alone. The realm is
//! inside the MAC: a nonce from one realm is worthless in another.
//!
//! Several server nodes sharing the same secret verify each other's nonces.

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::digest::hex;

/// Default nonce lifetime in seconds; after it a nonce is stale (RFC 7616 §3.3 `stale`).
pub const DEFAULT_NONCE_LIFETIME: u64 = 300;

/// How far in the future (seconds) an issue time may lie and still be accepted, for nodes
/// whose clocks differ slightly.
pub const MAX_CLOCK_SKEW: u64 = 30;

const MAC_LEN: usize = 16;
const NONCE_BYTES: usize = 8 + 8 + MAC_LEN;

/// The server secret that signs nonces, and a salt counter.
pub struct NonceKey {
    mac: Hmac<Sha256>,
    salt: AtomicU64,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

/// What [`NonceKey::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued by us for this realm and still within its lifetime.
    Fresh { issued_at: u64 },
    /// Issued by us for this realm but older than the lifetime: challenge again with
    /// `stale=true`.
    Expired { issued_at: u64 },
    /// Not a nonce we issued for this realm (bad format, bad MAC, or issued too far in the
    /// future).
    Forged,
}

impl NonceKey {
    /// A key from a server secret (at least 32 random bytes recommended; shared by all nodes of
    /// a cluster) and a salt seed (random, so that restarts do not repeat salts).
    pub fn new(secret: &[u8], salt_seed: u64) -> NonceKey {
        #[allow(clippy::expect_used)]
        // Cannot fail: HMAC accepts keys of any length (RFC 2104 §2); hmac's
        // `new_from_slice` never returns an error.
        let mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        NonceKey {
            mac,
            salt: AtomicU64::new(salt_seed),
        }
    }

    fn tag(&self, issued_at: u64, salt: u64, realm: &str) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        mac.update(&issued_at.to_be_bytes());
        mac.update(&salt.to_be_bytes());
        mac.update(realm.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(&full[..MAC_LEN]);
        tag
    }

    /// A new nonce for `realm`, issued at `now` (unix seconds).
    pub fn issue(&self, realm: &str, now: u64) -> String {
        let salt = self.salt.fetch_add(1, Ordering::Relaxed);
        let mut bytes = Vec::with_capacity(NONCE_BYTES);
        bytes.extend_from_slice(&now.to_be_bytes());
        bytes.extend_from_slice(&salt.to_be_bytes());
        bytes.extend_from_slice(&self.tag(now, salt, realm));
        hex(&bytes)
    }

    /// Checks a nonce received in credentials for `realm` at `now`; the MAC is compared in
    /// constant time.
    pub fn check(&self, nonce: &str, realm: &str, now: u64, lifetime: u64) -> NonceStatus {
        let Some(bytes) = unhex::<NONCE_BYTES>(nonce) else {
            return NonceStatus::Forged;
        };
        let (head, tag) = bytes.split_at(16);
        let (ts, salt) = head.split_at(8);
        let (Ok(ts), Ok(salt)) = (<[u8; 8]>::try_from(ts), <[u8; 8]>::try_from(salt)) else {
            return NonceStatus::Forged;
        };
        let issued_at = u64::from_be_bytes(ts);
        let expected = self.tag(issued_at, u64::from_be_bytes(salt), realm);
        if !bool::from(expected.ct_eq(tag)) {
            return NonceStatus::Forged;
        }
        if issued_at > now.saturating_add(MAX_CLOCK_SKEW) {
            NonceStatus::Forged
        } else if now.saturating_sub(issued_at) > lifetime {
            NonceStatus::Expired { issued_at }
        } else {
            NonceStatus::Fresh { issued_at }
        }
    }
}

/// Decodes exactly `N` bytes of hex (either case).
fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_check() {
        let key = NonceKey::new(b"secret", 7);
        let n = key.issue("example.test", 1000);
        assert_eq!(n.len(), 2 * NONCE_BYTES);
        assert_ne!(
            n,
            key.issue("example.test", 1000),
            "salt makes nonces unique"
        );
        let check = |n: &str, realm, now| key.check(n, realm, now, 300);
        assert_eq!(
            check(&n, "example.test", 1000),
            NonceStatus::Fresh { issued_at: 1000 }
        );
        assert_eq!(
            check(&n, "example.test", 1300),
            NonceStatus::Fresh { issued_at: 1000 }
        );
        assert_eq!(
            check(&n, "example.test", 1301),
            NonceStatus::Expired { issued_at: 1000 }
        );
        assert_eq!(
            check(&n.to_uppercase(), "example.test", 1000),
            NonceStatus::Fresh { issued_at: 1000 }
        );
        // Slight skew between nodes is tolerated, a nonce from the far future is not.
        assert_eq!(
            check(&n, "example.test", 990),
            NonceStatus::Fresh { issued_at: 1000 }
        );
        assert_eq!(check(&n, "example.test", 900), NonceStatus::Forged);
        assert_eq!(check(&n, "other.test", 1000), NonceStatus::Forged);
        assert_eq!(
            NonceKey::new(b"other", 7).check(&n, "example.test", 1000, 300),
            NonceStatus::Forged
        );
        assert_eq!(check("", "example.test", 1000), NonceStatus::Forged);
        assert_eq!(check(&n[1..], "example.test", 1000), NonceStatus::Forged);
        let mut bad = n.clone().into_bytes();
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(check(&bad, "example.test", 1000), NonceStatus::Forged);
        let non_hex = format!("zz{}", &n[2..]);
        assert_eq!(check(&non_hex, "example.test", 1000), NonceStatus::Forged);
        assert_eq!(format!("{key:?}"), "NonceKey(..)");
    }
}
