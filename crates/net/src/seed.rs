//! Randomness for the endpoint's branch and tag generator.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// 64 random bits for `EndpointConfig::seed`: from the OS (`/dev/urandom`), or, where that
/// cannot be read, from the standard library's randomly keyed hasher.
///
/// Tags and branches must be unique across restarts (RFC 3261 §19.3 asks for 32 random bits
/// in a tag), so a fixed seed would be wrong in production.
pub fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_os.is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_differ() {
        assert_ne!(super::random_seed(), super::random_seed());
    }
}
