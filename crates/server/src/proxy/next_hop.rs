//! Where a request goes: from a SIP URI (RFC 3263 §4, simplified), and from a registration
//! binding (the connection it was made on, else the address it came from, else its contact).
//!
//! A URI's transport is its `transport` parameter (`sips:` means TLS), else UDP; its port is
//! the URI's, else 5060 (5061 for TLS); a host name is looked up with the system resolver
//! (A/AAAA). NAPTR and SRV lookups (RFC 3263 §4.1–4.2) are not done here yet.
//!
//! A binding made over TCP or TLS prefers its connection while it lives (a client behind NAT
//! is reachable no other way). One made over UDP from another IP than its contact's is
//! behind NAT too: requests go to the address the REGISTER came from (RFC 3581 symmetric
//! response routing, as registrars with NAT handling do), otherwise to the contact.

use super::{Flow, Target};
use parley_sip::{ConnectionId, Destination, Host, Transport, Uri};
use parley_store::Binding;
use std::net::{IpAddr, SocketAddr};

/// The transport and port a URI asks for, and its host.
pub fn uri_transport(uri: &Uri) -> Option<(Transport, Host, u16)> {
    let sip = uri.as_sip()?;
    let transport = match sip.transport().as_deref() {
        _ if sip.secure => Transport::Tls,
        None | Some("udp") => Transport::Udp,
        Some("tcp") => Transport::Tcp,
        Some("tls") => Transport::Tls,
        Some("ws") => Transport::Ws,
        Some("wss") => Transport::Wss,
        Some(_) => return None,
    };
    let port = sip.port.unwrap_or(match transport {
        Transport::Tls => 5061,
        _ => 5060,
    });
    Some((transport, sip.host.clone(), port))
}

/// Resolves a URI to an address and transport.
pub async fn resolve(uri: &Uri) -> Option<(Destination, Transport)> {
    let (transport, host, port) = uri_transport(uri)?;
    let ip = match host {
        Host::Ip(ip) => ip,
        Host::Name(name) => lookup(&name, port).await?,
    };
    let addr = SocketAddr::new(ip, port);
    Some((Destination::Address { transport, addr }, transport))
}

async fn lookup(name: &str, port: u16) -> Option<IpAddr> {
    match tokio::net::lookup_host((name, port)).await {
        Ok(mut addrs) => addrs.next().map(|a| a.ip()),
        Err(e) => {
            tracing::debug!(host = name, error = %e, "cannot resolve");
            None
        }
    }
}

/// The target for one binding; `None` if its contact is not a SIP URI.
pub async fn binding_target(binding: &Binding) -> Option<Target> {
    let uri = Uri::parse(&binding.contact).ok()?;
    let contact = resolve(&uri).await;
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
    let destination = match (source, contact) {
        (
            Some((Transport::Udp, from, _)),
            Some((Destination::Address { addr, .. }, Transport::Udp)),
        ) if addr.ip() != from.ip() => Some(udp(from)),
        (_, Some(contact)) => Some(contact),
        // An unresolvable contact (a private name) that registered over UDP: its source.
        (Some((Transport::Udp, from, _)), None) => Some(udp(from)),
        (_, None) => None,
    };
    Some(Target {
        uri: Some(uri),
        flow,
        destination,
    })
}

fn udp(addr: SocketAddr) -> (Destination, Transport) {
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
        let t = binding_target(&b).await.unwrap();
        assert_eq!(t.destination, addr(Transport::Udp, "192.0.2.5:5070"));
        assert_eq!(t.flow, None);
        let b = binding("sip:bob@10.0.0.5:5060", "udp", "198.51.100.1:40000", None);
        let t = binding_target(&b).await.unwrap();
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
        let t = binding_target(&b).await.unwrap();
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
