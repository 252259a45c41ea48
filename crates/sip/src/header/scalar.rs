//! Single-token headers: Call-ID (§20.8), Max-Forwards (§20.22), Expires and Min-Expires
//! (§20.19, §20.23), SIP-ETag and SIP-If-Match (RFC 3903 §11.3).

use crate::error::ParseError;
use crate::scan::{is_token, is_word_char, parse_decimal, trim};

/// Validates a Call-ID: `word ["@" word]`.
pub fn parse_call_id(s: &str) -> Result<&str, ParseError> {
    let s = trim(s);
    let mut parts = s.split('@');
    let ok = matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), b, None) if !a.is_empty() && a.bytes().all(is_word_char)
            && b.is_none_or(|b| !b.is_empty() && b.bytes().all(is_word_char))
    );
    if ok {
        Ok(s)
    } else {
        Err(ParseError::header("Call-ID", "not word[@word]"))
    }
}

/// `Max-Forwards`: 0 to 255 (RFC 4475 §3.1.2.4 treats larger values as malformed).
pub fn parse_max_forwards(s: &str) -> Result<u8, ParseError> {
    parse_decimal(trim(s), 255)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or(ParseError::header(
            "Max-Forwards",
            "not a number from 0 to 255",
        ))
}

/// `delta-seconds` of Expires / Min-Expires: 0 to 2^32-1 (RFC 3261 §20.19).
pub fn parse_delta_seconds(s: &str, header: &'static str) -> Result<u32, ParseError> {
    parse_decimal(trim(s), u64::from(u32::MAX))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(ParseError::header(
            header,
            "not a number of seconds below 2^32",
        ))
}

/// An entity tag: a token (RFC 3903 §11.3).
pub fn parse_etag<'a>(s: &'a str, header: &'static str) -> Result<&'a str, ParseError> {
    let s = trim(s);
    if is_token(s) {
        Ok(s)
    } else {
        Err(ParseError::header(header, "not a token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids() {
        assert!(parse_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(parse_call_id("a b").is_err());
        assert!(parse_call_id("a@b@c").is_err());
        assert!(parse_call_id("").is_err());
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_max_forwards("0068"), Ok(68));
        assert!(parse_max_forwards("300").is_err());
        assert_eq!(parse_delta_seconds("3600", "Expires"), Ok(3600));
        assert!(parse_delta_seconds("10000000000000", "Expires").is_err());
    }
}
