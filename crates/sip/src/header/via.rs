//! `Via` (RFC 3261 §20.42, §18.2.1; `rport` from RFC 3581).

use super::params::Params;
use crate::error::ParseError;
use crate::scan::{find_byte, is_token_char, rfind_byte, split_at_byte, split_top_level, trim};
use crate::uri::{host_address, Host};
use std::fmt;
use std::net::IpAddr;

/// The branch prefix of RFC 3261 transaction identifiers (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One `Via` value: `SIP/2.0/transport sent-by *(;param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// Transport token as received (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`, or unknown).
    pub transport: &'a str,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params<'a>,
}

fn bad(reason: &'static str) -> ParseError {
    ParseError::header("Via", reason)
}

impl<'a> Via<'a> {
    /// Parses every value of a `Via` field (comma-separated).
    pub fn parse_list(s: &'a str) -> impl Iterator<Item = Result<Via<'a>, ParseError>> + 'a {
        split_top_level(s, b',').map(|part| {
            let part = part.map_err(|_| bad("unbalanced quotes"))?;
            Via::parse(trim(part))
        })
    }

    /// Parses one `Via` value.
    pub fn parse(s: &'a str) -> Result<Via<'a>, ParseError> {
        let (transport, sent_by, params) = split(s)?;
        let (host, ip, port) = split_sent_by(sent_by)?;
        let params = Params::parse(params).map_err(|_| bad("malformed parameter"))?;
        if let Some(Some(branch)) = params.get("branch") {
            if branch.starts_with('"') {
                return Err(bad("branch is not a token"));
            }
        }
        if params.get("branch") == Some(None) {
            return Err(bad("empty branch"));
        }
        Ok(Via {
            transport,
            host: match ip {
                Some(ip) => Host::Ip(ip),
                None => Host::Name(host.into()),
            },
            port,
            params,
        })
    }

    /// Whether every value of a `Via` field parses as [`Via::parse_list`] would, with the same
    /// error, without building them.
    pub fn check_list(s: &'a str) -> Result<(), ParseError> {
        for part in split_top_level(s, b',') {
            let part = part.map_err(|_| bad("unbalanced quotes"))?;
            let (_, sent_by, params) = split(trim(part))?;
            split_sent_by(sent_by)?;
            // The first `branch` is the one that counts, as in `Params::get`.
            let mut branch = None;
            Params::scan(params, |name, value| {
                if branch.is_none() && name.eq_ignore_ascii_case("branch") {
                    branch = Some(value);
                }
            })
            .map_err(|_| bad("malformed parameter"))?;
            match branch {
                Some(Some(b)) if b.starts_with('"') => return Err(bad("branch is not a token")),
                Some(None) => return Err(bad("empty branch")),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn branch(&self) -> Option<&'a str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch carries the RFC 3261 magic cookie (RFC 3261 §17.2.3 matching applies).
    /// A bare cookie (RFC 4475 §3.2.1) does not count: it identifies nothing.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<&'a str> {
        self.params.get("received").flatten()
    }

    /// `Some(None)` when `rport` is present without a value (the client asks for it).
    pub fn rport(&self) -> Option<Option<&'a str>> {
        self.params.get("rport")
    }

    pub fn maddr(&self) -> Option<&'a str> {
        self.params.get("maddr").flatten()
    }

    /// Whether the transport is reliable (responses go back on the connection).
    pub fn is_stream(&self) -> bool {
        !self.transport.eq_ignore_ascii_case("UDP")
    }
}

/// Splits one `Via` value into its transport, sent-by and parameters, checking the protocol.
fn split(s: &str) -> Result<(&str, &str, &str), ParseError> {
    let (proto, rest) = split_at_byte(s, b'/').ok_or(bad("no protocol"))?;
    if !trim(proto).eq_ignore_ascii_case("SIP") {
        return Err(bad("protocol is not SIP"));
    }
    let (version, rest) = split_at_byte(rest, b'/').ok_or(bad("no transport"))?;
    if trim(version) != "2.0" {
        return Err(ParseError::Version);
    }
    let rest = trim(rest);
    let t_len = rest
        .bytes()
        .position(|b| !is_token_char(b))
        .unwrap_or(rest.len());
    let transport = &rest[..t_len];
    if transport.is_empty() {
        return Err(bad("no transport"));
    }
    let rest = &rest[t_len..];
    if !rest.starts_with([' ', '\t']) {
        return Err(bad("no space before sent-by"));
    }
    let rest = trim(rest);
    let sb_len = rest
        .bytes()
        .position(|b| b == b';' || b == b' ' || b == b'\t')
        .unwrap_or(rest.len());
    Ok((transport, &rest[..sb_len], &rest[sb_len..]))
}

/// The sent-by's host (checked; with its address when it is one) and port.
fn split_sent_by(s: &str) -> Result<(&str, Option<IpAddr>, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = find_byte(s, b']').ok_or(bad("unterminated IPv6 reference"))?;
        (&s[..=end], s[end + 1..].strip_prefix(':'))
    } else {
        match rfind_byte(s, b':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let ip = host_address(host).map_err(|_| bad("malformed sent-by host"))?;
    let port = port
        .map(|p| {
            crate::scan::parse_decimal(p, u64::from(u16::MAX))
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(bad("malformed sent-by port"))
        })
        .transpose()?;
    Ok((host, ip, port))
}

impl Via<'_> {
    /// Appends the value as `Display` prints it, without going through `core::fmt`: the
    /// transport layer re-prints the top Via of every request it stamps (RFC 3261 §18.2.1).
    pub(crate) fn push_to(&self, out: &mut String) {
        out.push_str("SIP/2.0/");
        out.push_str(self.transport);
        out.push(' ');
        match &self.host {
            Host::Name(n) => out.push_str(n),
            Host::Ip(ip @ IpAddr::V4(_)) => crate::print::push_ip(out, *ip),
            Host::Ip(ip @ IpAddr::V6(_)) => {
                out.push('[');
                crate::print::push_ip(out, *ip);
                out.push(']');
            }
        }
        if let Some(p) = self.port {
            out.push(':');
            crate::print::push_decimal(out, u64::from(p));
        }
        for (name, value) in self.params.iter() {
            out.push(';');
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        self.push_to(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_and_spaced_via() {
        let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
        let list: Vec<_> = Via::parse_list(
            "SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8  , SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239",
        )
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn rport_and_ipv6() {
        let v = Via::parse("SIP/2.0/TCP [2001:db8::1]:5061;rport;branch=z9hG4bKx").unwrap();
        assert_eq!(v.port, Some(5061));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/TCP [2001:db8::1]:5061;rport;branch=z9hG4bKx"
        );
    }

    #[test]
    fn empty_values_are_rejected() {
        assert!(Via::parse_list("SIP/2.0/UDP 192.0.2.15;;,;,,").any(|r| r.is_err()));
        assert_eq!(
            Via::parse("SIP/7.0/UDP c.example.com"),
            Err(ParseError::Version)
        );
    }
}
