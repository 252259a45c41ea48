//! `CSeq` (RFC 3261 §20.16).

use crate::error::ParseError;
use crate::method::Method;
use crate::scan::{parse_decimal, trim};

/// `CSeq: number method`. The number fits 32 bits (RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let bad = |r| ParseError::header("CSeq", r);
        let s = trim(s);
        let split = s.find([' ', '\t']).ok_or(bad("no method"))?;
        let seq = parse_decimal(&s[..split], u64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(bad("sequence number is not a 32-bit number"))?;
        let method = Method::parse(trim(&s[split..])).ok_or(bad("method is not a token"))?;
        Ok(CSeq { seq, method })
    }
}

impl std::fmt::Display for CSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_and_folding_space() {
        let c = CSeq::parse("0009 INVITE").unwrap();
        assert_eq!((c.seq, c.method), (9, Method::Invite));
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("-1 INVITE").is_err());
        assert!(CSeq::parse("12").is_err());
    }
}
