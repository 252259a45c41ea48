//! SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966 for tel), and any other absolute
//! URI kept opaque so that a server can answer `416 Unsupported URI Scheme`.
//!
//! Components are stored as received (still %-escaped) so a URI prints back byte for byte;
//! comparisons that need the unescaped form ask for it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a URI did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("no scheme")]
    NoScheme,
    #[error("bad character in user part")]
    User,
    #[error("bad host")]
    Host,
    #[error("bad port")]
    Port,
    #[error("bad parameter")]
    Param,
    #[error("bad header")]
    Header,
    #[error("bad %-escape")]
    Escape,
    #[error("bad character")]
    Char,
}

/// Any URI that can appear in a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    /// `tel:` (RFC 3966): the subscriber number and its parameters, unparsed.
    Tel(Box<str>),
    /// An absolute URI of another scheme, kept as text (scheme lowercase).
    Other {
        scheme: Box<str>,
        rest: Box<str>,
    },
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    /// User part, still escaped.
    pub user: Option<Box<str>>,
    pub password: Option<Box<str>>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Vec<Param>,
    /// `?name=value` headers, still escaped.
    pub headers: Vec<(Box<str>, Box<str>)>,
}

/// A host: domain name (as received; compare case-insensitively) or IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Name(Box<str>),
    Ip(IpAddr),
}

/// A `;name[=value]` parameter (URI parameters and header parameters alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: Box<str>,
    pub value: Option<Box<str>>,
}

impl Uri {
    /// Parses an absolute URI. A `sip`/`sips` URI is parsed fully; `tel` and other schemes are
    /// checked for URI characters only.
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = split_scheme(s)?;
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(rest, false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(rest, true).map(Uri::Sip)
        } else {
            check_opaque(rest)?;
            if scheme.eq_ignore_ascii_case("tel") {
                Ok(Uri::Tel(rest.into()))
            } else {
                Ok(Uri::Other {
                    scheme: scheme.to_ascii_lowercase().into(),
                    rest: rest.into(),
                })
            }
        }
    }

    /// Whether `s` parses as [`Uri::parse`] would, with the same error, without building the
    /// URI: the checks a server makes on every field of every message (RFC 3261 §16.3) then
    /// allocate nothing.
    pub fn check(s: &str) -> Result<(), UriError> {
        let (scheme, rest) = split_scheme(s)?;
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            SipUriParts::split(rest).map(|_| ())
        } else {
            check_opaque(rest)
        }
    }

    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The scheme, lowercase.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Tel(_) => "tel",
            Uri::Other { scheme, .. } => scheme,
        }
    }
}

/// The scheme (checked against RFC 3986's grammar) and what follows its colon.
fn split_scheme(s: &str) -> Result<(&str, &str), UriError> {
    let (scheme, rest) = crate::scan::split_at_byte(s, b':').ok_or(UriError::NoScheme)?;
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err(UriError::NoScheme);
    }
    Ok((scheme, rest))
}

/// The part after the scheme of a URI kept opaque (`tel` and unknown schemes).
fn check_opaque(rest: &str) -> Result<(), UriError> {
    if rest.is_empty() || !rest.bytes().all(is_uric) {
        return Err(UriError::Char);
    }
    Ok(())
}

/// A `sip`/`sips` URI after its scheme, split into its components and checked against the
/// grammar of RFC 3261 §25.1, still borrowed from the input.
struct SipUriParts<'a> {
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: &'a str,
    /// The address when the host is an IP address (or IPv6 reference), `None` for a name.
    ip: Option<IpAddr>,
    port: Option<u16>,
    /// The parameters, each after a `;` (empty without parameters).
    params: &'a str,
    /// The `name=value` pairs after `?`, separated by `&`.
    headers: Option<&'a str>,
}

impl<'a> SipUriParts<'a> {
    fn split(s: &'a str) -> Result<SipUriParts<'a>, UriError> {
        use crate::scan::{find_byte, split_at_byte, split_byte};
        // '@' cannot appear unescaped in host, parameters or headers, so the first one ends
        // the userinfo even when the user part holds '?', ';' or ':' (RFC 4475 §3.1.1.2).
        let (userinfo, hostpart) = match split_at_byte(s, b'@') {
            Some((u, h)) => (Some(u), h),
            None => (None, s),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match split_at_byte(ui, b':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() || !u.bytes().all(is_user_char) {
                    return Err(UriError::User);
                }
                check_escapes(u)?;
                if let Some(p) = p {
                    if !p.bytes().all(is_password_char) {
                        return Err(UriError::User);
                    }
                    check_escapes(p)?;
                }
                (Some(u), p)
            }
        };
        let (before_headers, headers) = match split_at_byte(hostpart, b'?') {
            Some((b, h)) => (b, Some(h)),
            None => (hostpart, None),
        };
        let (hostport, params) = match find_byte(before_headers, b';') {
            Some(i) => before_headers.split_at(i),
            None => (before_headers, ""),
        };
        let (host, ip, port) = split_hostport(hostport)?;
        for p in split_byte(params, b';').skip(1) {
            let (name, value) = match split_at_byte(p, b'=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if name.is_empty() || !name.bytes().all(is_param_char) {
                return Err(UriError::Param);
            }
            if let Some(v) = value {
                if v.is_empty() || !v.bytes().all(is_param_char) {
                    return Err(UriError::Param);
                }
                check_escapes(v)?;
            }
            check_escapes(name)?;
        }
        if let Some(h) = headers {
            for pair in split_byte(h, b'&') {
                let (name, value) = split_at_byte(pair, b'=').ok_or(UriError::Header)?;
                if name.is_empty()
                    || !name.bytes().all(is_hnv_char)
                    || !value.bytes().all(is_hnv_char)
                {
                    return Err(UriError::Header);
                }
                check_escapes(name)?;
                check_escapes(value)?;
            }
        }
        Ok(SipUriParts {
            user,
            password,
            host,
            ip,
            port,
            params,
            headers,
        })
    }
}

impl SipUri {
    /// A `sip:` URI with just a host.
    pub fn new(host: Host) -> SipUri {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn parse_after_scheme(s: &str, secure: bool) -> Result<SipUri, UriError> {
        let parts = SipUriParts::split(s)?;
        // The components are checked: what is left is copying them out.
        let params = crate::scan::split_byte(parts.params, b';')
            .skip(1)
            .map(|p| match crate::scan::split_at_byte(p, b'=') {
                Some((name, value)) => Param {
                    name: name.into(),
                    value: Some(value.into()),
                },
                None => Param {
                    name: p.into(),
                    value: None,
                },
            })
            .collect();
        let headers = parts.headers.map_or_else(Vec::new, |h| {
            crate::scan::split_byte(h, b'&')
                .filter_map(|pair| crate::scan::split_at_byte(pair, b'='))
                .map(|(n, v)| (n.into(), v.into()))
                .collect()
        });
        Ok(SipUri {
            secure,
            user: parts.user.map(Into::into),
            password: parts.password.map(Into::into),
            host: match parts.ip {
                Some(ip) => Host::Ip(ip),
                None => Host::Name(parts.host.into()),
            },
            port: parts.port,
            params,
            headers,
        })
    }

    /// The value of parameter `name` (case-insensitive name): `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The user part with %-escapes decoded (RFC 3261 §19.1.4 compares users this way).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().map(unescape)
    }

    /// The `transport` parameter, lowercase.
    pub fn transport(&self) -> Option<String> {
        self.param("transport")
            .flatten()
            .map(str::to_ascii_lowercase)
    }
}

pub(crate) fn find_param<'a>(params: &'a [Param], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_deref())
}

/// Splits `host[:port]` and checks both: the host text, its address if it is one, the port.
fn split_hostport(s: &str) -> Result<(&str, Option<IpAddr>, Option<u16>), UriError> {
    let (host_str, port_str) = if let Some(rest) = s.strip_prefix('[') {
        let end = crate::scan::find_byte(rest, b']').ok_or(UriError::Host)?;
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UriError::Port)?),
        };
        (&s[..end + 2], port)
    } else {
        match crate::scan::rfind_byte(s, b':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let ip = host_address(host_str)?;
    let port = match port_str {
        None => None,
        Some(p) => Some(
            crate::scan::parse_decimal(p, u64::from(u16::MAX))
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(UriError::Port)?,
        ),
    };
    Ok((host_str, ip, port))
}

/// Checks a host: its address for an IPv4 address or bracketed IPv6 reference, `None` for a
/// valid host name.
pub(crate) fn host_address(s: &str) -> Result<Option<IpAddr>, UriError> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(UriError::Host)?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|a| Some(IpAddr::V6(a)))
            .map_err(|_| UriError::Host);
    }
    if let Some(v4) = parse_ipv4(s) {
        return Ok(Some(IpAddr::V4(v4)));
    }
    let b = s.as_bytes();
    let labels = trim_trailing_dots(b);
    let labels_ok = !s.is_empty()
        && labels.split(|&c| c == b'.').all(|l| {
            !l.is_empty()
                && l.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                && l.first() != Some(&b'-')
                && l.last() != Some(&b'-')
        });
    if labels_ok {
        Ok(None)
    } else {
        Err(UriError::Host)
    }
}

/// A dotted-quad IPv4 address, accepting exactly what `Ipv4Addr::from_str` accepts (four
/// decimal octets up to 255, no leading zeros) at a fraction of its cost: every Via sent-by
/// and most contacts hold one.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = crate::scan::split_byte(s, b'.');
    for octet in &mut octets {
        let part = parts.next()?.as_bytes();
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// `b` without any trailing dots (`str::trim_end_matches('.')`, byte-wise).
fn trim_trailing_dots(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b'.').map_or(0, |i| i + 1);
    &b[..end]
}

impl Host {
    /// Parses a hostname, IPv4 address or bracketed IPv6 reference.
    pub fn parse(s: &str) -> Result<Host, UriError> {
        Ok(match host_address(s)? {
            Some(ip) => Host::Ip(ip),
            None => Host::Name(s.into()),
        })
    }

    /// Whether two hosts are the same (names compare case-insensitively).
    pub fn matches(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ip(a), Host::Ip(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(ip @ IpAddr::V4(_)) => {
                let mut s = String::with_capacity(15);
                crate::print::push_ip(&mut s, *ip);
                f.write_str(&s)
            }
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(v) = &self.value {
            f.write_str("=")?;
            f.write_str(v)?;
        }
        Ok(())
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                f.write_str(":")?;
                f.write_str(p)?;
            }
            f.write_str("@")?;
        }
        fmt::Display::fmt(&self.host, f)?;
        if let Some(p) = self.port {
            let mut s = String::with_capacity(6);
            s.push(':');
            crate::print::push_decimal(&mut s, u64::from(p));
            f.write_str(&s)?;
        }
        for p in &self.params {
            f.write_str(";")?;
            fmt::Display::fmt(p, f)?;
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => fmt::Display::fmt(u, f),
            Uri::Tel(rest) => write!(f, "tel:{rest}"),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

/// Decodes %-escapes; invalid escapes are kept literally (the parser already rejected them).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn check_escapes(s: &str) -> Result<(), UriError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(_), Some(_)) => i += 3,
                _ => return Err(UriError::Escape),
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

byte_class! {
    /// unreserved / escaped / user-unreserved ("&" / "=" / "+" / "$" / "," / ";" / "?" / "/").
    fn is_user_char = user_char;
}

const fn user_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
        )
}

byte_class! {
    fn is_password_char = password_char;
}

const fn password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b',')
}

byte_class! {
    /// paramchar: param-unreserved ("[" "]" "/" ":" "&" "+" "$") / unreserved / escaped.
    fn is_param_char = param_char;
}

const fn param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

byte_class! {
    /// hnv-unreserved ("[" "]" "/" "?" ":" "+" "$") / unreserved / escaped.
    fn is_hnv_char = hnv_char;
}

const fn hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

byte_class! {
    /// Characters of an absolute URI's opaque part (RFC 2396 uric plus "/" and "?").
    fn is_uric = uric;
}

const fn uric(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b';'
                | b'/'
                | b'?'
                | b':'
                | b'@'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b'#'
                | b'['
                | b']'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_part_may_hold_question_mark_and_semicolons() {
        let s = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let u = Uri::parse(s).unwrap();
        let sip = u.as_sip().unwrap();
        assert_eq!(
            sip.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert!(sip.headers.is_empty());
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn ipv4_addresses_parse_as_the_standard_library_does() {
        for s in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4.",
            "",
            "a.b.c.d",
            "1.2.3.0004",
            "00.1.2.3",
        ] {
            assert_eq!(parse_ipv4(s), s.parse::<Ipv4Addr>().ok(), "{s}");
        }
    }

    #[test]
    fn ipv6_reference_with_port() {
        let u = Uri::parse("sip:[2001:db8::10]:5070;transport=tcp").unwrap();
        let sip = u.as_sip().unwrap();
        assert_eq!(sip.port, Some(5070));
        assert_eq!(sip.transport().as_deref(), Some("tcp"));
        assert_eq!(u.to_string(), "sip:[2001:db8::10]:5070;transport=tcp");
    }

    #[test]
    fn escapes_are_kept_and_decodable() {
        let u = Uri::parse("sip:%75se%72@example.com").unwrap();
        assert_eq!(
            u.as_sip().unwrap().user_unescaped().as_deref(),
            Some("user")
        );
        assert_eq!(Uri::parse("sip:a%4@example.com"), Err(UriError::Escape));
    }

    #[test]
    fn unknown_scheme_is_kept_opaque() {
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert_eq!(u.to_string(), "soap.beep://192.0.2.103:3002");
    }

    #[test]
    fn bad_ports_and_hosts() {
        assert_eq!(Uri::parse("sip:host:99999"), Err(UriError::Port));
        assert_eq!(Uri::parse("sip:ho st"), Err(UriError::Host));
        assert_eq!(Uri::parse("sip:[::1"), Err(UriError::Host));
    }
}
