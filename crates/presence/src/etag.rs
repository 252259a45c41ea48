//! Entity-tags for publications (RFC 3903 §4.1): unique per event state compositor and hard to
//! guess, so that one client cannot modify another's publication by guessing its tag. The
//! randomness comes from a seed the caller draws (the server takes it from `rand` at start);
//! this crate reads no entropy itself.

use std::fmt;

/// The value of `SIP-ETag` / `SIP-If-Match`: an opaque token compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityTag(String);

impl EntityTag {
    /// Wraps a header value (e.g. from `SIP-If-Match`), whitespace trimmed.
    pub fn new(value: &str) -> Self {
        Self(value.trim().to_owned())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where new entity-tags come from. Implement it over a CSPRNG if tags must resist an attacker
/// who can observe many of them; [`SeededEntityTags`] is the default.
pub trait EntityTagSource {
    /// A tag never returned before by this source.
    fn next_tag(&mut self) -> EntityTag;
}

/// Tags from a seeded xoshiro256** stream plus a counter: 64 unpredictable bits (as long as the
/// seed is secret) followed by a sequence number that makes every tag of one source distinct.
#[derive(Debug, Clone)]
pub struct SeededEntityTags {
    s: [u64; 4],
    counter: u64,
}

impl SeededEntityTags {
    /// A source seeded with `seed` (draw it from a real random generator).
    #[allow(clippy::cast_possible_truncation)] // Splitting the seed into its two halves on purpose.
    pub fn new(seed: u128) -> Self {
        // Expand the seed with splitmix64 (the initialisation xoshiro's authors recommend).
        let mut x = (seed as u64) ^ ((seed >> 64) as u64).rotate_left(32);
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
            counter: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }
}

impl EntityTagSource for SeededEntityTags {
    fn next_tag(&mut self) -> EntityTag {
        self.counter += 1;
        EntityTag(format!("{:016x}{:x}", self.next_u64(), self.counter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tags_are_distinct_and_depend_on_the_seed() {
        let mut a = SeededEntityTags::new(1);
        let tags: HashSet<_> = (0..10_000).map(|_| a.next_tag()).collect();
        assert_eq!(tags.len(), 10_000);
        let mut b = SeededEntityTags::new(2);
        let mut a = SeededEntityTags::new(1);
        assert_ne!(a.next_tag(), b.next_tag());
        assert_eq!(
            SeededEntityTags::new(7).next_tag(),
            SeededEntityTags::new(7).next_tag()
        );
    }
}
