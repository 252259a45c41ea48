//! `WWW-Authenticate` / `Proxy-Authenticate` challenges and `Authorization` /
//! `Proxy-Authorization` credentials (RFC 3261 §20.7, §20.44, §22; RFC 8760).

use crate::error::ParseError;
use crate::scan::{end_of_quoted, is_token, is_token_char, trim};

/// `scheme name=value, name="value", ...` as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParams<'a> {
    pub scheme: &'a str,
    /// Names and raw values (quoted strings keep their quotes).
    pub params: Vec<(&'a str, &'a str)>,
}

impl<'a> AuthParams<'a> {
    pub fn parse(s: &'a str, header: &'static str) -> Result<AuthParams<'a>, ParseError> {
        let bad = |r| ParseError::header(header, r);
        let s = trim(s);
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        let scheme = &s[..end];
        if !is_token(scheme) {
            return Err(bad("scheme is not a token"));
        }
        let mut params = Vec::new();
        let mut rest = trim(&s[end..]);
        while !rest.is_empty() {
            let n_end = rest
                .bytes()
                .position(|b| !is_token_char(b))
                .unwrap_or(rest.len());
            let name = &rest[..n_end];
            let after = trim(&rest[n_end..]);
            let after = after
                .strip_prefix('=')
                .ok_or(bad("parameter without '='"))?;
            let after = trim(after);
            let v_end = if after.starts_with('"') {
                end_of_quoted(after.as_bytes(), 0).map_err(|_| bad("unterminated quoted string"))?
            } else {
                after
                    .bytes()
                    .position(|b| !is_token_char(b))
                    .unwrap_or(after.len())
            };
            if name.is_empty() || v_end == 0 {
                return Err(bad("empty parameter name or value"));
            }
            params.push((name, &after[..v_end]));
            rest = trim(&after[v_end..]);
            if let Some(r) = rest.strip_prefix(',') {
                rest = trim(r);
            } else if !rest.is_empty() {
                return Err(bad("parameters must be separated by commas"));
            }
        }
        Ok(AuthParams { scheme, params })
    }

    /// A parameter's value, unquoted (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| super::params::unquote(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_credentials() {
        let a = AuthParams::parse(
            r#"Digest username="alice", realm="example.test", nonce="abc", uri="sip:example.test", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="x""#,
            "Authorization",
        )
        .unwrap();
        assert_eq!(a.scheme, "Digest");
        assert_eq!(a.get("username"), Some("alice"));
        assert_eq!(a.get("nc"), Some("00000001"));
        let u =
            AuthParams::parse("NoOneKnowsThisScheme opaque-data=here", "Authorization").unwrap();
        assert_eq!(u.get("opaque-data"), Some("here"));
        assert!(AuthParams::parse("Digest realm=", "WWW-Authenticate").is_err());
    }
}
