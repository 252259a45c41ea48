//! `Content-Type` and `Accept` (RFC 3261 §20.15, §20.1).

use super::params::Params;
use crate::error::ParseError;
use crate::scan::{is_token, split_top_level, trim};

/// `type/subtype *(;param)`; type and subtype compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    pub kind: &'a str,
    pub subtype: &'a str,
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    pub fn parse(s: &'a str, header: &'static str) -> Result<MediaType<'a>, ParseError> {
        let bad = || ParseError::header(header, "not type/subtype");
        let s = trim(s);
        let end = s.find(';').unwrap_or(s.len());
        let (kind, subtype) = s[..end].split_once('/').ok_or_else(bad)?;
        let (kind, subtype) = (trim(kind), trim(subtype));
        if !is_token(kind) || !is_token(subtype) {
            return Err(bad());
        }
        let params = Params::parse(&s[end..]).map_err(|_| bad())?;
        Ok(MediaType {
            kind,
            subtype,
            params,
        })
    }

    /// Whether this is `kind/subtype` (case-insensitive).
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// Whether this media range (`*/*`, `type/*`) admits `kind/subtype`.
    pub fn admits(&self, kind: &str, subtype: &str) -> bool {
        (self.kind == "*" || self.kind.eq_ignore_ascii_case(kind))
            && (self.subtype == "*" || self.subtype.eq_ignore_ascii_case(subtype))
    }
}

/// Parses an `Accept` value (possibly empty: "accepts nothing" per RFC 3261 §20.1).
pub fn parse_accept(s: &str) -> Result<Vec<MediaType<'_>>, ParseError> {
    if trim(s).is_empty() {
        return Ok(Vec::new());
    }
    split_top_level(s, b',')
        .map(|p| {
            let p = p.map_err(|_| ParseError::header("Accept", "unbalanced quotes"))?;
            MediaType::parse(p, "Accept")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let m = MediaType::parse("application/pidf+xml;charset=UTF-8", "Content-Type").unwrap();
        assert!(m.is("Application", "PIDF+XML"));
        assert_eq!(m.params.get("charset"), Some(Some("UTF-8")));
        assert!(MediaType::parse("text", "Content-Type").is_err());
        let a = parse_accept("application/sdp, application/pkcs7-mime, multipart/mixed").unwrap();
        assert_eq!(a.len(), 3);
        assert!(parse_accept("*/*").unwrap()[0].admits("text", "plain"));
    }
}
