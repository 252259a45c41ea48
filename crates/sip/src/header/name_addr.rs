//! `name-addr` / `addr-spec` values (RFC 3261 §20.10, §25.1): From, To, Contact, Route,
//! Record-Route.

use super::params::Params;
use crate::error::ParseError;
use crate::scan::{end_of_quoted, find_byte, is_token_char, is_ws, split_top_level, trim};
use crate::uri::Uri;
use std::fmt;

/// `[display-name] <URI> *(;param)` or `URI *(;param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name as received (a quoted string keeps its quotes).
    pub display: Option<&'a str>,
    pub uri: Uri,
    pub params: Params<'a>,
}

/// A `name-addr` or `addr-spec` value split into its parts, the URI and parameters still text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameAddrText<'a> {
    pub display: Option<&'a str>,
    pub uri: &'a str,
    /// The parameters after the URI, each after a `;`.
    pub params: &'a str,
}

impl<'a> NameAddrText<'a> {
    /// Splits one value, checking what lies around the URI. `header` names the field in errors.
    pub fn split(s: &'a str, header: &'static str) -> Result<NameAddrText<'a>, ParseError> {
        let bad = |reason| ParseError::header(header, reason);
        let s = trim(s);
        let b = s.as_bytes();
        // Display name: a quoted string, or tokens separated by whitespace, before '<'.
        let (display, after_display) = if b.first() == Some(&b'"') {
            let end = end_of_quoted(b, 0).map_err(|_| bad("unterminated quoted string"))?;
            (Some(&s[..end]), trim(&s[end..]))
        } else if let Some(lt) = find_byte(s, b'<') {
            let name = trim(&s[..lt]);
            if !name.bytes().all(|c| is_token_char(c) || is_ws(c)) {
                return Err(bad(
                    "display name is neither a token list nor a quoted string",
                ));
            }
            ((!name.is_empty()).then_some(name), &s[lt..])
        } else {
            (None, s)
        };
        if let Some(inner) = after_display.strip_prefix('<') {
            let gt = find_byte(inner, b'>').ok_or(bad("no closing >"))?;
            let uri = &inner[..gt];
            if uri.bytes().any(|c| is_ws(c) || c.is_ascii_control()) {
                return Err(bad("whitespace inside <>"));
            }
            Ok(NameAddrText {
                display,
                uri,
                params: &inner[gt + 1..],
            })
        } else {
            if display.is_some() {
                return Err(bad("display name without <URI>"));
            }
            // addr-spec: parameters after ';' belong to the header, and a URI holding ',', '?'
            // or ';' must be in <> (RFC 3261 §20.10; RFC 4475 §3.1.2.13).
            let end = find_byte(s, b';').unwrap_or(s.len());
            let uri = trim(&s[..end]);
            if uri.bytes().any(|c| is_ws(c) || c == b'?' || c == b',') {
                return Err(bad("URI with '?', ',' or spaces must be enclosed in <>"));
            }
            Ok(NameAddrText {
                display: None,
                uri,
                params: &s[end..],
            })
        }
    }
}

impl<'a> NameAddr<'a> {
    /// Parses one value. `header` names the field in errors.
    pub fn parse(s: &'a str, header: &'static str) -> Result<NameAddr<'a>, ParseError> {
        let parts = NameAddrText::split(s, header)?;
        let bad = |reason| ParseError::header(header, reason);
        let uri = Uri::parse(parts.uri).map_err(|_| bad("malformed URI"))?;
        let params = Params::parse(parts.params).map_err(|_| bad("malformed parameter"))?;
        Ok(NameAddr {
            display: parts.display,
            uri,
            params,
        })
    }

    /// Whether `s` parses as [`NameAddr::parse`] would, with the same error, without building
    /// the URI or collecting the parameters.
    pub fn check(s: &'a str, header: &'static str) -> Result<(), ParseError> {
        let parts = NameAddrText::split(s, header)?;
        let bad = |reason| ParseError::header(header, reason);
        Uri::check(parts.uri).map_err(|_| bad("malformed URI"))?;
        Params::check(parts.params).map_err(|_| bad("malformed parameter"))
    }

    /// Checks every value of a comma-separated list as [`NameAddr::parse_list`] parses them.
    pub fn check_list(s: &'a str, header: &'static str) -> Result<(), ParseError> {
        for part in split_top_level(s, b',') {
            let part = part.map_err(|_| ParseError::header(header, "unbalanced quotes or <>"))?;
            NameAddr::check(part, header)?;
        }
        Ok(())
    }

    /// Parses a comma-separated list of values.
    pub fn parse_list(
        s: &'a str,
        header: &'static str,
    ) -> impl Iterator<Item = Result<NameAddr<'a>, ParseError>> + 'a {
        split_top_level(s, b',').map(move |part| {
            let part = part.map_err(|_| ParseError::header(header, "unbalanced quotes or <>"))?;
            NameAddr::parse(part, header)
        })
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.params.get("tag").flatten()
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.display {
            write!(f, "{d} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_display_name_with_escapes() {
        let n = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
            "From",
        )
        .unwrap();
        assert_eq!(n.display, Some(r#""J Rosenberg \\\"""#));
        assert_eq!(n.tag(), Some("98asjd8"));
    }

    #[test]
    fn addr_spec_params_belong_to_header() {
        let n = NameAddr::parse("sip:caller@example.net;tag=134161461246", "From").unwrap();
        assert_eq!(n.tag(), Some("134161461246"));
        assert!(n.uri.as_sip().unwrap().params.is_empty());
    }

    #[test]
    fn invalid_forms() {
        assert!(NameAddr::parse(r#""Mr. J. User <sip:j.user@example.com>"#, "To").is_err());
        assert!(NameAddr::parse(r#""Watson, Thomas" < sip:t.watson@example.org >"#, "To").is_err());
        assert!(
            NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", "From").is_err()
        );
        assert!(NameAddr::parse(
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "Contact"
        )
        .is_err());
    }

    #[test]
    fn token_display_name_without_space() {
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323", "From").unwrap();
        assert_eq!(n.display, Some("caller"));
    }
}
