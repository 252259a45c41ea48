//! Addresses of record (RFC 3261 §10.2: the To and From of a REGISTER are the AOR,
//! `sip:user@domain`) as the user types them: `user@domain` or `sip:user@domain`.

use parley_sip::uri::{Host, SipUri};
use parley_sip::Uri;
use std::fmt;

/// A `user@domain` address: the account that registers, or the recipient of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aor {
    user: String,
    domain: String,
}

/// Why a text is not an address. The user's input is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a SIP address (expected user@domain): {reason}")]
pub struct AorError {
    pub text: String,
    pub reason: &'static str,
}

impl Aor {
    /// Parses `user@domain`, `sip:user@domain` or `<sip:user@domain>`. The domain is kept
    /// lowercase; the user part is case-sensitive (RFC 3261 §19.1.4). URI parameters, a port
    /// or a password are refused: an address of record names a user, not a device.
    pub fn parse(text: &str) -> Result<Aor, AorError> {
        let bad = |reason| AorError {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(trimmed);
        let with_scheme = if inner.contains(':') {
            inner.to_owned()
        } else {
            format!("sip:{inner}")
        };
        let uri = match Uri::parse(&with_scheme) {
            Ok(Uri::Sip(uri)) => uri,
            Ok(_) => return Err(bad("not a sip: URI")),
            Err(_) => return Err(bad("not a valid SIP URI")),
        };
        if uri.secure {
            return Err(bad("sips: accounts are not supported"));
        }
        let Some(user) = uri.user.as_deref() else {
            return Err(bad("no user part"));
        };
        if uri.password.is_some() || uri.port.is_some() || !uri.params.is_empty() {
            return Err(bad(
                "a port, password or parameters do not belong in an address",
            ));
        }
        if !uri.headers.is_empty() {
            return Err(bad("URI headers do not belong in an address"));
        }
        let domain = match &uri.host {
            Host::Name(n) => n.to_ascii_lowercase(),
            Host::Ip(std::net::IpAddr::V4(ip)) => ip.to_string(),
            Host::Ip(std::net::IpAddr::V6(_)) => return Err(bad("use a domain name")),
        };
        Ok(Aor {
            user: user.to_owned(),
            domain,
        })
    }

    /// The user part (escaped as in the URI).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The domain, lowercase.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `sip:user@domain`.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    /// `sip:domain`: the Request-URI of a REGISTER (RFC 3261 §10.2).
    pub fn domain_uri(&self) -> String {
        format!("sip:{}", self.domain)
    }

    /// Whether `uri` names this address (same user and host, RFC 3261 §19.1.4 style).
    pub fn matches(&self, uri: &SipUri) -> bool {
        uri.user_unescaped() == Some(parley_sip::uri::unescape(&self.user))
            && Host::parse(&self.domain).is_ok_and(|host| uri.host.matches(&host))
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.domain)
    }
}

impl std::str::FromStr for Aor {
    type Err = AorError;
    fn from_str(s: &str) -> Result<Aor, AorError> {
        Aor::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_type() {
        for text in [
            "alice@Example.TEST",
            "sip:alice@example.test",
            "<sip:alice@example.test>",
        ] {
            let a = Aor::parse(text).unwrap();
            assert_eq!(a.to_string(), "alice@example.test", "{text}");
            assert_eq!(a.uri(), "sip:alice@example.test");
            assert_eq!(a.domain_uri(), "sip:example.test");
        }
        assert_eq!(Aor::parse("bob@192.0.2.1").unwrap().domain(), "192.0.2.1");
        for bad in [
            "alice",
            "@example.test",
            "sips:alice@example.test",
            "tel:+1234",
            "alice@example.test:5060",
            "sip:alice@example.test;transport=tcp",
            "alice:pw@example.test",
            "al ice@example.test",
        ] {
            assert!(Aor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_uris_of_the_same_user_and_host() {
        let a = Aor::parse("alice@example.test").unwrap();
        let uri = |s: &str| match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            _ => unreachable!(),
        };
        assert!(a.matches(&uri("sip:alice@EXAMPLE.test;transport=tcp")));
        assert!(a.matches(&uri("sip:%61lice@example.test")));
        assert!(!a.matches(&uri("sip:Alice@example.test")));
        assert!(!a.matches(&uri("sip:alice@other.test")));
    }
}
