//! Locating SIP servers (RFC 3263 §4): from a domain, or a `host[:port]` given by hand, to the
//! ordered list of (transport, address) pairs a client tries in turn.
//!
//! The procedure is split in two:
//! - **selection**, pure functions over records: [`Target::parse`], [`select_naptr`] (which
//!   NAPTR services the client can use, in preference order; §4.1), [`fallback_srv_names`]
//!   (the SRV queries when there are no NAPTR records; §4.1), [`order_srv`] (RFC 2782 "Usage
//!   rules": priority, then weighted random order) and [`default_port`];
//! - **lookups**, behind the [`DnsLookup`] trait: [`SystemDns`] asks the resolvers of
//!   `/etc/resolv.conf` through hickory-resolver; tests substitute a table of records.
//!
//! [`locate`] strings them together: an IP literal short-circuits (§4.1, §4.2), a name with a
//! port gets an A/AAAA lookup, a bare name goes NAPTR → SRV → A/AAAA. Failing over to the next
//! target (§4.3: on a timeout, a transport error or a `503`) is the caller's business.

use parley_sip::Transport;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};

mod system;
pub use system::SystemDns;

/// The most NAPTR, SRV and address records used from one answer, and the most targets
/// returned (DESIGN.md: bounded everything; real SIP domains publish a handful).
const MAX_RECORDS: usize = 16;
const MAX_TARGETS: usize = 32;

/// One place to send requests to: a transport and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerTarget {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl std::fmt::Display for ServerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.transport, self.addr)
    }
}

/// What to locate: the host part of a SIP URI with its optional port (RFC 3263 §4 "TARGET").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A numeric IP address; `port` when one was given.
    Ip { ip: IpAddr, port: Option<u16> },
    /// A domain name (lowercase, without a trailing dot).
    Name { name: String, port: Option<u16> },
}

/// Why a `host[:port]` text is not a [`Target`]. The user's input is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("empty host")]
    Empty,
    #[error("bad port in {0:?}")]
    BadPort(String),
    #[error("{0:?} is not a host name or IP address")]
    BadHost(String),
}

impl Target {
    /// Parses `host`, `host:port`, `a.b.c.d[:port]`, `[v6]`, `[v6]:port` or a bare IPv6
    /// address.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TargetError::Empty);
        }
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| TargetError::BadPort(text.to_owned()))
        };
        if let Some(rest) = text.strip_prefix('[') {
            let (ip, after) = rest
                .split_once(']')
                .ok_or_else(|| TargetError::BadHost(text.to_owned()))?;
            let ip: std::net::Ipv6Addr = ip
                .parse()
                .map_err(|_| TargetError::BadHost(text.to_owned()))?;
            let port = match after {
                "" => None,
                p => Some(port(
                    p.strip_prefix(':')
                        .ok_or_else(|| TargetError::BadHost(text.to_owned()))?,
                )?),
            };
            return Ok(Target::Ip {
                ip: IpAddr::V6(ip),
                port,
            });
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Target::Ip { ip, port: None });
        }
        let (host, port) = match text.rsplit_once(':') {
            Some((host, p)) => (host, Some(port(p)?)),
            None => (text, None),
        };
        if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
            return Ok(Target::Ip {
                ip: IpAddr::V4(ip),
                port,
            });
        }
        let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(TargetError::BadHost(text.to_owned()));
        }
        Ok(Target::Name { name, port })
    }
}

/// What the client can do and wants (RFC 3263 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// The transports the client supports, most preferred first. Used to filter NAPTR
    /// services, and as the order of the SRV queries when there are no NAPTR records.
    pub supported: Vec<Transport>,
    /// A transport chosen by the user (like a URI's `transport` parameter): no NAPTR query,
    /// only this transport's SRV records (§4.2).
    pub forced: Option<Transport>,
    /// Resolving a SIPS URI: only TLS services (§4.1).
    pub secure: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            supported: vec![Transport::Udp, Transport::Tcp],
            forced: None,
            secure: false,
        }
    }
}

/// A NAPTR record (RFC 3403) as far as RFC 3263 uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrRecord {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    /// The SRV name to query next (RFC 3263 uses empty regexps and a replacement).
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, without a trailing dot; `""` or `"."` means "no service here".
    pub target: String,
}

/// The port of a transport when neither the URI nor DNS gives one (RFC 3261 §19.1.2).
pub fn default_port(transport: Transport) -> u16 {
    match transport {
        Transport::Tls | Transport::Wss => 5061,
        Transport::Udp | Transport::Tcp | Transport::Ws => 5060,
    }
}

/// The transport of a NAPTR service field (RFC 3263 §4.1, IANA "SIP+D2X"): `D2U` UDP, `D2T`
/// TCP, and TLS for `SIPS+D2T`. Any other service is not for us.
fn naptr_transport(services: &str) -> Option<Transport> {
    match services.to_ascii_uppercase().as_str() {
        "SIP+D2U" => Some(Transport::Udp),
        "SIP+D2T" => Some(Transport::Tcp),
        "SIPS+D2T" => Some(Transport::Tls),
        _ => None,
    }
}

/// The usable NAPTR records, most preferred first, as (transport, SRV name) (RFC 3263 §4.1,
/// RFC 3403 §4.1): only terminal `s` records with a SIP service for a transport the client
/// supports (only TLS when `secure`), ordered by `order` then `preference`.
pub fn select_naptr(records: &[NaptrRecord], prefs: &Preferences) -> Vec<(Transport, String)> {
    let mut usable: Vec<(u16, u16, Transport, String)> = records
        .iter()
        .take(MAX_RECORDS)
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter_map(|r| {
            let transport = naptr_transport(&r.services)?;
            let allowed = prefs.supported.contains(&transport)
                && (!prefs.secure || transport == Transport::Tls);
            let name = r.replacement.trim_end_matches('.');
            (allowed && !name.is_empty())
                .then(|| (r.order, r.preference, transport, name.to_ascii_lowercase()))
        })
        .collect();
    usable.sort_by_key(|&(order, preference, ..)| (order, preference));
    usable.into_iter().map(|(_, _, t, n)| (t, n)).collect()
}

/// The SRV names to query, in the client's order, when the domain has no NAPTR records or the
/// transport is forced (RFC 3263 §4.1, §4.2): `_sips._tcp` for TLS, `_sip._tcp`, `_sip._udp`.
pub fn fallback_srv_names(domain: &str, prefs: &Preferences) -> Vec<(Transport, String)> {
    let transports: Vec<Transport> = match prefs.forced {
        Some(t) => vec![t],
        None => prefs.supported.clone(),
    };
    transports
        .into_iter()
        .filter(|&t| !prefs.secure || t == Transport::Tls)
        .filter_map(|t| {
            let service = match t {
                Transport::Udp => "_sip._udp",
                Transport::Tcp => "_sip._tcp",
                Transport::Tls => "_sips._tcp",
                Transport::Ws | Transport::Wss => return None,
            };
            Some((t, format!("{service}.{domain}")))
        })
        .collect()
}

/// The transport when DNS gives none (no NAPTR, no SRV) or the port is explicit: the forced
/// one, else UDP for SIP and TLS for SIPS (RFC 3263 §4.1).
pub fn plain_transport(prefs: &Preferences) -> Transport {
    match (prefs.forced, prefs.secure) {
        (Some(t), _) => t,
        (None, true) => Transport::Tls,
        (None, false) => Transport::Udp,
    }
}

/// SRV records in the order to try them (RFC 2782 "Usage rules"): by priority, lowest first;
/// within one priority, a weighted random order where each record's chance of coming next
/// is its share of the remaining weight. `random(n)` returns a uniform number in `0..=n`.
/// A lone record whose target is `.` says the service is not offered: nothing is returned.
pub fn order_srv(records: &[SrvRecord], mut random: impl FnMut(u32) -> u32) -> Vec<SrvRecord> {
    let unavailable = |r: &SrvRecord| r.target.is_empty() || r.target == ".";
    let mut records: Vec<SrvRecord> = records
        .iter()
        .take(MAX_RECORDS)
        .filter(|r| !unavailable(r))
        .cloned()
        .collect();
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut ordered = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let end = records
            .iter()
            .position(|r| r.priority != priority)
            .unwrap_or(records.len());
        let mut group: Vec<SrvRecord> = records.drain(..end).collect();
        while !group.is_empty() {
            // Zero-weight records sit first, so a draw of 0 can pick them (RFC 2782).
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = random(total).min(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            ordered.push(group.remove(index));
        }
    }
    ordered
}

/// A DNS lookup that failed for another reason than "no such records".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DNS lookup of {name} failed: {reason}")]
pub struct LookupError {
    pub name: String,
    pub reason: String,
}

/// The three lookups RFC 3263 needs. "No records" (NXDOMAIN or an empty answer) is `Ok` with
/// nothing in it; only failures to get an answer are errors.
pub trait DnsLookup {
    fn naptr(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<NaptrRecord>, LookupError>> + Send;
    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<SrvRecord>, LookupError>> + Send;
    /// A and AAAA records.
    fn ip(&self, host: &str) -> impl Future<Output = Result<Vec<IpAddr>, LookupError>> + Send;
}

/// Why no server could be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// DNS answered, but with nothing usable for this client.
    #[error("no SIP server found for {0} (no usable NAPTR, SRV, A or AAAA records)")]
    NotFound(String),
}

/// Locates the servers for `target` (RFC 3263 §4.1, §4.2) in the order to try them (§4.3).
/// `random` orders SRV records of equal priority ([`order_srv`]).
pub async fn locate<D: DnsLookup>(
    dns: &D,
    target: &Target,
    prefs: &Preferences,
    mut random: impl FnMut(u32) -> u32,
) -> Result<Vec<ServerTarget>, LocateError> {
    let (name, port) = match target {
        Target::Ip { ip, port } => {
            let transport = plain_transport(prefs);
            let port = port.unwrap_or_else(|| default_port(transport));
            return Ok(vec![ServerTarget {
                transport,
                addr: SocketAddr::new(*ip, port),
            }]);
        }
        Target::Name { name, port } => (name.as_str(), *port),
    };
    if let Some(port) = port {
        let transport = plain_transport(prefs);
        return addresses(dns, name, transport, port).await;
    }
    let naptr = if prefs.forced.is_some() {
        Vec::new()
    } else {
        select_naptr(&dns.naptr(name).await?, prefs)
    };
    let services = if naptr.is_empty() {
        fallback_srv_names(name, prefs)
    } else {
        naptr
    };
    let mut found = Vec::new();
    for (transport, srv_name) in services {
        for srv in order_srv(&dns.srv(&srv_name).await?, &mut random) {
            for ip in dns.ip(&srv.target).await?.into_iter().take(MAX_RECORDS) {
                push_unique(&mut found, transport, SocketAddr::new(ip, srv.port));
            }
        }
        if found.len() >= MAX_TARGETS {
            break;
        }
    }
    if !found.is_empty() {
        found.truncate(MAX_TARGETS);
        return Ok(found);
    }
    let transport = plain_transport(prefs);
    addresses(dns, name, transport, default_port(transport)).await
}

async fn addresses<D: DnsLookup>(
    dns: &D,
    name: &str,
    transport: Transport,
    port: u16,
) -> Result<Vec<ServerTarget>, LocateError> {
    let mut found = Vec::new();
    for ip in dns.ip(name).await?.into_iter().take(MAX_RECORDS) {
        push_unique(&mut found, transport, SocketAddr::new(ip, port));
    }
    if found.is_empty() {
        return Err(LocateError::NotFound(name.to_owned()));
    }
    Ok(found)
}

fn push_unique(found: &mut Vec<ServerTarget>, transport: Transport, addr: SocketAddr) {
    let target = ServerTarget { transport, addr };
    if !found.contains(&target) {
        found.push(target);
    }
}

#[cfg(test)]
mod tests;
