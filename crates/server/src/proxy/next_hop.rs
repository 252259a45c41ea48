//! Where a request goes: from a SIP URI (RFC 3263 §4), and from a registration binding (the
//! connection it was made on, else the address it came from, else its contact).
//!
//! A URI is located with [`Resolver`]: its `transport` parameter (`sips:` means TLS) forces
//! the transport; an IP address is used as it is (port 5060, 5061 for TLS); a host name with
//! a port gets an A/AAAA lookup; a bare host name goes NAPTR → SRV → A/AAAA (RFC 3263 §4.1,
//! §4.2, with `parley_net::resolve::locate`). The result is the ordered list of places to
//! try: the proxy fails over to the next one on a transport error, a timeout or a `503`
//! (RFC 3263 §4.3, see [`super::task`]).
//!
//! A binding made over TCP or TLS prefers its connection while it lives (a client behind NAT
//! is reachable no other way). One made over UDP from another IP than its contact's is
//! behind NAT too: requests go to the address the REGISTER came from (RFC 3581 symmetric
//! response routing, as registrars with NAT handling do), otherwise to the contact.

use super::{Flow, Target};
use parley_net::resolve::{self, DnsLookup, LocateError, LookupError, Preferences, ServerTarget};
use parley_sip::{ConnectionId, Destination, Host, Transport, Uri};
use parley_store::Binding;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// The transport and port a URI asks for, and its host.
pub fn uri_transport(uri: &Uri) -> Option<(Transport, Host, u16)> {
    let sip = uri.as_sip()?;
    let transport = forced_transport(uri)?.unwrap_or(match sip.secure {
        true => Transport::Tls,
        false => Transport::Udp,
    });
    let port = sip.port.unwrap_or(match transport {
        Transport::Tls => 5061,
        _ => 5060,
    });
    Some((transport, sip.host.clone(), port))
}

/// The transport a URI names (`sips:` names TLS): `Some(None)` when it names none, `None`
/// when it names one we do not know.
fn forced_transport(uri: &Uri) -> Option<Option<Transport>> {
    let sip = uri.as_sip()?;
    match sip.transport().as_deref() {
        _ if sip.secure => Some(Some(Transport::Tls)),
        None => Some(None),
        Some("udp") => Some(Some(Transport::Udp)),
        Some("tcp") => Some(Some(Transport::Tcp)),
        Some("tls") => Some(Some(Transport::Tls)),
        Some("ws") => Some(Some(Transport::Ws)),
        Some("wss") => Some(Some(Transport::Wss)),
        Some(_) => None,
    }
}

/// A place to send a request to, with the transport named in our Via.
pub type Hop = (Destination, Transport);

type Located<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<ServerTarget>, LocateError>> + Send + 'a>>;

/// RFC 3263 server location behind a trait object: any [`DnsLookup`] is one, so tests
/// substitute a table of records for the system's resolvers.
pub trait ServerLocator: Send + Sync + 'static {
    fn locate<'a>(&'a self, target: &'a resolve::Target, prefs: &'a Preferences) -> Located<'a>;
}

impl<D: DnsLookup + Send + Sync + 'static> ServerLocator for D {
    fn locate<'a>(&'a self, target: &'a resolve::Target, prefs: &'a Preferences) -> Located<'a> {
        Box::pin(resolve::locate(self, target, prefs, random_up_to))
    }
}

/// A uniform number in `0..=n`, for the weighted order of SRV records (RFC 2782).
fn random_up_to(n: u32) -> u32 {
    // The remainder of a division by at most 2^32 fits in u32.
    u32::try_from(rand::random::<u64>() % (u64::from(n) + 1)).unwrap_or(0)
}

/// Only the hosts file and A/AAAA records, through the operating system (no NAPTR, no SRV):
/// the fallback when the system's DNS configuration cannot be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressOnlyDns;

impl DnsLookup for AddressOnlyDns {
    async fn naptr(&self, _name: &str) -> Result<Vec<resolve::NaptrRecord>, LookupError> {
        Ok(Vec::new())
    }

    async fn srv(&self, _name: &str) -> Result<Vec<resolve::SrvRecord>, LookupError> {
        Ok(Vec::new())
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        match tokio::net::lookup_host((host, 0)).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => {
                tracing::debug!(host, error = %e, "cannot resolve");
                Ok(Vec::new())
            }
        }
    }
}

/// Locates the next hop of a URI (RFC 3263), for the transports we can send over. Cheap to
/// clone.
#[derive(Clone)]
pub struct Resolver {
    dns: Arc<dyn ServerLocator>,
    supported: Vec<Transport>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("supported", &self.supported)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// Looks names up with `dns`; NAPTR services and SRV queries are limited to the
    /// transports we have listeners for (`listening`).
    pub fn new(dns: Arc<dyn ServerLocator>, listening: &[Transport]) -> Resolver {
        let supported = [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .filter(|t| listening.contains(t))
            .collect();
        Resolver { dns, supported }
    }

    /// The system's resolvers (hickory-resolver), or, when their configuration cannot be
    /// read, A/AAAA lookups through the operating system. Must be called within a runtime.
    pub fn system_dns() -> Arc<dyn ServerLocator> {
        match parley_net::resolve::SystemDns::new() {
            Ok(dns) => Arc::new(dns),
            Err(e) => {
                tracing::warn!(error = %e, "no DNS configuration: NAPTR and SRV lookups are off");
                Arc::new(AddressOnlyDns)
            }
        }
    }

    /// The places to send a request for `uri` to, in the order to try them (RFC 3263 §4.3);
    /// empty when the URI is not a SIP URI, names an unknown transport, or cannot be
    /// resolved.
    pub async fn resolve(&self, uri: &Uri) -> Vec<Hop> {
        let (Some(sip), Some(forced)) = (uri.as_sip(), forced_transport(uri)) else {
            return Vec::new();
        };
        let target = match &sip.host {
            Host::Ip(ip) => resolve::Target::Ip {
                ip: *ip,
                port: sip.port,
            },
            Host::Name(name) => resolve::Target::Name {
                name: name.trim_end_matches('.').to_ascii_lowercase(),
                port: sip.port,
            },
        };
        let prefs = Preferences {
            supported: self.supported.clone(),
            forced,
            secure: sip.secure,
        };
        match self.dns.locate(&target, &prefs).await {
            Ok(found) => found
                .into_iter()
                .map(|t| {
                    let destination = Destination::Address {
                        transport: t.transport,
                        addr: t.addr,
                    };
                    (destination, t.transport)
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "next hop not found");
                Vec::new()
            }
        }
    }
}

/// The target for one binding; `None` if its contact is not a SIP URI.
pub async fn binding_target(resolver: &Resolver, binding: &Binding) -> Option<Target> {
    let uri = Uri::parse(&binding.contact).ok()?;
    let mut contacts = resolver.resolve(&uri).await;
    let source = binding.source.as_ref().and_then(|s| {
        Transport::from_via_token(&s.transport).map(|t| (t, s.address, s.connection_id))
    });
    let flow = match source {
        Some((transport, remote, Some(id))) if transport.is_reliable() => Some(Flow {
            connection: ConnectionId(id),
            remote,
            transport,
        }),
        _ => None,
    };
    let (destination, alternates) = match (source, contacts.first().copied()) {
        (
            Some((Transport::Udp, from, _)),
            Some((Destination::Address { addr, .. }, Transport::Udp)),
        ) if addr.ip() != from.ip() => (Some(udp(from)), Vec::new()),
        (_, Some(first)) => (Some(first), contacts.split_off(1)),
        // An unresolvable contact (a private name) that registered over UDP: its source.
        (Some((Transport::Udp, from, _)), None) => (Some(udp(from)), Vec::new()),
        (_, None) => (None, Vec::new()),
    };
    Some(Target {
        uri: Some(uri),
        flow,
        destination,
        alternates,
    })
}

fn udp(addr: SocketAddr) -> Hop {
    (
        Destination::Address {
            transport: Transport::Udp,
            addr,
        },
        Transport::Udp,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_store::{Address, Source, Timestamp};

    fn binding(contact: &str, transport: &str, from: &str, connection: Option<u64>) -> Binding {
        Binding {
            aor: Address::parse("bob@example.com").unwrap(),
            contact: contact.into(),
            q: None,
            expires_at: Timestamp::MAX,
            call_id: "c".into(),
            cseq: 1,
            instance_id: None,
            reg_id: None,
            path: Vec::new(),
            source: Some(Source {
                transport: transport.into(),
                address: from.parse().unwrap(),
                connection_id: connection,
            }),
            user_agent: None,
        }
    }

    fn resolver() -> Resolver {
        Resolver::new(Arc::new(AddressOnlyDns), &[Transport::Udp, Transport::Tcp])
    }

    fn addr(t: Transport, a: &str) -> Option<(Destination, Transport)> {
        Some((
            Destination::Address {
                transport: t,
                addr: a.parse().unwrap(),
            },
            t,
        ))
    }

    #[test]
    fn uri_transports_and_default_ports() {
        let t = |s: &str| {
            let (t, _, p) = uri_transport(&Uri::parse(s).unwrap()).unwrap();
            (t, p)
        };
        assert_eq!(t("sip:a@h"), (Transport::Udp, 5060));
        assert_eq!(t("sip:a@h:5070;transport=TCP"), (Transport::Tcp, 5070));
        assert_eq!(t("sips:a@h"), (Transport::Tls, 5061));
        assert!(uri_transport(&Uri::parse("sip:a@h;transport=sctp").unwrap()).is_none());
    }

    #[tokio::test]
    async fn a_udp_binding_goes_to_its_contact_unless_behind_nat() {
        let b = binding("sip:bob@192.0.2.5:5070", "udp", "192.0.2.5:5070", None);
        let t = binding_target(&resolver(), &b).await.unwrap();
        assert_eq!(t.destination, addr(Transport::Udp, "192.0.2.5:5070"));
        assert_eq!(t.flow, None);
        let b = binding("sip:bob@10.0.0.5:5060", "udp", "198.51.100.1:40000", None);
        let t = binding_target(&resolver(), &b).await.unwrap();
        assert_eq!(t.destination, addr(Transport::Udp, "198.51.100.1:40000"));
        assert_eq!(t.uri.unwrap().to_string(), "sip:bob@10.0.0.5:5060");
    }

    #[tokio::test]
    async fn a_tcp_binding_prefers_its_connection() {
        let b = binding(
            "sip:bob@10.0.0.5:5060;transport=tcp",
            "tcp",
            "198.51.100.1:40000",
            Some(7),
        );
        let t = binding_target(&resolver(), &b).await.unwrap();
        assert_eq!(
            t.flow,
            Some(Flow {
                connection: ConnectionId(7),
                remote: "198.51.100.1:40000".parse().unwrap(),
                transport: Transport::Tcp
            })
        );
        assert_eq!(t.destination, addr(Transport::Tcp, "10.0.0.5:5060"));
    }
}
