//! The domains this server is responsible for (RFC 3261 §16.4: a proxy recognises the
//! Request-URIs that address it): configured names, plus its own listening addresses, as
//! `IP` and `IP:PORT`.

use parley_sip::Host;
use std::net::{IpAddr, SocketAddr};

/// The hosts that are "us".
#[derive(Debug, Clone, Default)]
pub struct LocalDomains {
    /// Lowercase names without a trailing dot.
    names: Vec<String>,
    /// Listening addresses, a wildcard bind expanded into the host's addresses.
    addresses: Vec<SocketAddr>,
}

impl LocalDomains {
    /// `names` are the configured domains; `listeners` the bound SIP addresses; `host_ips`
    /// the host's own addresses, standing in for wildcard (`0.0.0.0`, `[::]`) binds.
    pub fn new(
        names: impl IntoIterator<Item = impl AsRef<str>>,
        listeners: &[SocketAddr],
        host_ips: &[IpAddr],
    ) -> LocalDomains {
        let mut domains = LocalDomains::default();
        for name in names {
            let name = normalise(name.as_ref());
            if !name.is_empty() && !domains.names.contains(&name) {
                domains.names.push(name);
            }
        }
        for listener in listeners {
            if listener.ip().is_unspecified() {
                let same_family = host_ips
                    .iter()
                    .filter(|ip| ip.is_ipv4() == listener.is_ipv4());
                for ip in same_family {
                    domains.add_address(SocketAddr::new(*ip, listener.port()));
                }
            } else {
                domains.add_address(*listener);
            }
        }
        domains
    }

    fn add_address(&mut self, addr: SocketAddr) {
        if !self.addresses.contains(&addr) {
            self.addresses.push(addr);
        }
    }

    /// Whether a URI host (and port, if the URI has one) names this server. Names match
    /// whatever the port; an address matches alone or with the port of one of our
    /// listeners on it.
    pub fn is_local(&self, host: &Host, port: Option<u16>) -> bool {
        match host {
            Host::Name(name) => self.names.contains(&normalise(name)),
            Host::Ip(ip) => self
                .addresses
                .iter()
                .any(|a| a.ip() == *ip && (port.is_none() || port == Some(a.port()))),
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains() -> LocalDomains {
        LocalDomains::new(
            ["Example.COM", "localhost"],
            &[
                "0.0.0.0:5060".parse().unwrap(),
                "192.0.2.7:5070".parse().unwrap(),
            ],
            &["127.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        )
    }

    #[test]
    fn names_match_case_insensitively_whatever_the_port() {
        let d = domains();
        assert!(d.is_local(&Host::Name("example.com.".into()), Some(9999)));
        assert!(d.is_local(&Host::Name("LOCALHOST".into()), None));
        assert!(!d.is_local(&Host::Name("example.org".into()), None));
    }

    #[test]
    fn addresses_match_alone_or_with_a_listening_port() {
        let d = domains();
        let ip = |s: &str| Host::Ip(s.parse().unwrap());
        assert!(d.is_local(&ip("127.0.0.1"), None));
        assert!(d.is_local(&ip("10.0.0.2"), Some(5060)));
        assert!(!d.is_local(&ip("10.0.0.2"), Some(5070)));
        assert!(d.is_local(&ip("192.0.2.7"), Some(5070)));
        assert!(!d.is_local(&ip("192.0.2.7"), Some(5060)));
        assert!(!d.is_local(&ip("192.0.2.8"), None));
        assert!(!d.is_local(&ip("::1"), None));
    }
}
