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
use std::time::Duration;

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

/// [`DnsLookup`] through the system's resolvers (`/etc/resolv.conf`) and hosts file, with
/// hickory-resolver.
#[derive(Debug, Clone)]
pub struct SystemDns {
    resolver: hickory_resolver::TokioResolver,
}

/// How long one DNS query waits, and how often it is tried: a client should fail in seconds,
/// not the minute a resolver's defaults can add up to.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);
const DNS_ATTEMPTS: usize = 2;

impl SystemDns {
    /// Reads the system configuration. Must be called within a tokio runtime.
    pub fn new() -> Result<SystemDns, LookupError> {
        let mut builder =
            hickory_resolver::TokioResolver::builder_tokio().map_err(|e| LookupError {
                name: "/etc/resolv.conf".to_owned(),
                reason: e.to_string(),
            })?;
        builder.options_mut().timeout = DNS_TIMEOUT;
        builder.options_mut().attempts = DNS_ATTEMPTS;
        Ok(SystemDns {
            resolver: builder.build(),
        })
    }
}

/// A fully qualified query name: relative names would be tried with the search domains too.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

fn lookup_error(name: &str, e: &hickory_resolver::ResolveError) -> LookupError {
    LookupError {
        name: name.to_owned(),
        reason: e.to_string(),
    }
}

fn no_records(e: &hickory_resolver::ResolveError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

impl DnsLookup for SystemDns {
    async fn naptr(&self, name: &str) -> Result<Vec<NaptrRecord>, LookupError> {
        use hickory_resolver::proto::rr::{RData, RecordType};
        match self.resolver.lookup(fqdn(name), RecordType::NAPTR).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .filter_map(|rdata| match rdata {
                    RData::NAPTR(n) => Some(NaptrRecord {
                        order: n.order(),
                        preference: n.preference(),
                        flags: String::from_utf8_lossy(n.flags()).into_owned(),
                        services: String::from_utf8_lossy(n.services()).into_owned(),
                        replacement: n.replacement().to_ascii(),
                    }),
                    _ => None,
                })
                .collect()),
            Err(e) if no_records(&e) => Ok(Vec::new()),
            Err(e) => Err(lookup_error(name, &e)),
        }
    }

    async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, LookupError> {
        match self.resolver.srv_lookup(fqdn(name)).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|s| SrvRecord {
                    priority: s.priority(),
                    weight: s.weight(),
                    port: s.port(),
                    target: s.target().to_ascii().trim_end_matches('.').to_owned(),
                })
                .collect()),
            Err(e) if no_records(&e) => Ok(Vec::new()),
            Err(e) => Err(lookup_error(name, &e)),
        }
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        // Not made absolute: the hosts file (`localhost`) is consulted first either way.
        match self.resolver.lookup_ip(host).await {
            Ok(lookup) => Ok(lookup.iter().collect()),
            Err(e) if no_records(&e) => Ok(Vec::new()),
            Err(e) => Err(lookup_error(host, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Synthetic DNS: records by name; a name in `broken` fails to answer.
    #[derive(Default)]
    struct FakeDns {
        naptr: HashMap<String, Vec<NaptrRecord>>,
        srv: HashMap<String, Vec<SrvRecord>>,
        ip: HashMap<String, Vec<IpAddr>>,
        broken: Vec<String>,
    }

    impl FakeDns {
        fn check(&self, name: &str) -> Result<(), LookupError> {
            match self.broken.iter().any(|b| b == name) {
                true => Err(LookupError {
                    name: name.to_owned(),
                    reason: "timed out".to_owned(),
                }),
                false => Ok(()),
            }
        }
    }

    impl DnsLookup for FakeDns {
        async fn naptr(&self, name: &str) -> Result<Vec<NaptrRecord>, LookupError> {
            self.check(name)?;
            Ok(self.naptr.get(name).cloned().unwrap_or_default())
        }
        async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, LookupError> {
            self.check(name)?;
            Ok(self.srv.get(name).cloned().unwrap_or_default())
        }
        async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
            self.check(host)?;
            Ok(self.ip.get(host).cloned().unwrap_or_default())
        }
    }

    fn naptr(order: u16, pref: u16, services: &str, replacement: &str) -> NaptrRecord {
        NaptrRecord {
            order,
            preference: pref,
            flags: "s".to_owned(),
            services: services.to_owned(),
            replacement: replacement.to_owned(),
        }
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.to_owned(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn target(transport: Transport, addr: &str) -> ServerTarget {
        ServerTarget {
            transport,
            addr: addr.parse().unwrap(),
        }
    }

    fn first(_: u32) -> u32 {
        0
    }

    fn locate_now(
        dns: &FakeDns,
        t: &str,
        prefs: &Preferences,
    ) -> Result<Vec<ServerTarget>, LocateError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(locate(dns, &Target::parse(t).unwrap(), prefs, first))
    }

    #[test]
    fn targets_parse() {
        let name = |n: &str, port| Target::Name {
            name: n.to_owned(),
            port,
        };
        assert_eq!(
            Target::parse("Example.TEST"),
            Ok(name("example.test", None))
        );
        assert_eq!(
            Target::parse("example.test.:5070"),
            Ok(name("example.test", Some(5070)))
        );
        assert_eq!(
            Target::parse("192.0.2.1:5062"),
            Ok(Target::Ip {
                ip: ip("192.0.2.1"),
                port: Some(5062)
            })
        );
        assert_eq!(
            Target::parse("::1"),
            Ok(Target::Ip {
                ip: ip("::1"),
                port: None
            })
        );
        assert_eq!(
            Target::parse("[2001:db8::1]:5080"),
            Ok(Target::Ip {
                ip: ip("2001:db8::1"),
                port: Some(5080)
            })
        );
        assert!(matches!(
            Target::parse("host:0"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            Target::parse("host:x"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            Target::parse("bad host"),
            Err(TargetError::BadHost(_))
        ));
        assert!(matches!(
            Target::parse("[::1"),
            Err(TargetError::BadHost(_))
        ));
        assert!(matches!(
            Target::parse("[::1]5060"),
            Err(TargetError::BadHost(_))
        ));
        assert_eq!(Target::parse(" "), Err(TargetError::Empty));
    }

    /// RFC 3263 §4.1's example: the client supports TCP and UDP, so TCP wins over UDP, and
    /// the preferred TLS record is dropped.
    #[test]
    fn naptr_selection_follows_order_and_support() {
        let records = [
            naptr(100, 50, "SIP+D2U", "_sip._udp.example.com."),
            naptr(50, 50, "SIPS+D2T", "_sips._tcp.example.com."),
            naptr(90, 50, "SIP+D2T", "_sip._tcp.example.com"),
            naptr(10, 10, "SIP+D2S", "_sip._sctp.example.com."),
            NaptrRecord {
                flags: "u".to_owned(),
                ..naptr(1, 1, "SIP+D2U", "x.example.com")
            },
            naptr(90, 40, "E2U+sip", "y.example.com."),
        ];
        assert_eq!(
            select_naptr(&records, &Preferences::default()),
            [
                (Transport::Tcp, "_sip._tcp.example.com".to_owned()),
                (Transport::Udp, "_sip._udp.example.com".to_owned()),
            ]
        );
        let tls = Preferences {
            supported: vec![Transport::Tls, Transport::Tcp],
            secure: true,
            ..Preferences::default()
        };
        assert_eq!(
            select_naptr(&records, &tls),
            [(Transport::Tls, "_sips._tcp.example.com".to_owned())]
        );
        // Equal order: preference decides.
        let tie = [
            naptr(10, 20, "SIP+D2U", "u.x"),
            naptr(10, 10, "sip+d2t", "t.x"),
        ];
        assert_eq!(
            select_naptr(&tie, &Preferences::default())[0].0,
            Transport::Tcp
        );
    }

    #[test]
    fn srv_names_without_naptr() {
        let names = fallback_srv_names("example.test", &Preferences::default());
        assert_eq!(
            names,
            [
                (Transport::Udp, "_sip._udp.example.test".to_owned()),
                (Transport::Tcp, "_sip._tcp.example.test".to_owned()),
            ]
        );
        let forced = Preferences {
            forced: Some(Transport::Tcp),
            ..Preferences::default()
        };
        assert_eq!(
            fallback_srv_names("d", &forced),
            [(Transport::Tcp, "_sip._tcp.d".to_owned())]
        );
        let tls = Preferences {
            forced: Some(Transport::Tls),
            ..Preferences::default()
        };
        assert_eq!(
            fallback_srv_names("d", &tls),
            [(Transport::Tls, "_sips._tcp.d".to_owned())]
        );
    }

    #[test]
    fn srv_order_is_by_priority_then_weight() {
        let records = [
            srv(20, 0, 5060, "backup"),
            srv(10, 60, 5060, "big"),
            srv(10, 0, 5060, "zero"),
            srv(10, 40, 5060, "small"),
        ];
        let names = |v: Vec<SrvRecord>| v.into_iter().map(|r| r.target).collect::<Vec<_>>();
        // Draw 0: the zero-weight record (first in its priority) is picked first.
        assert_eq!(
            names(order_srv(&records, first)),
            ["zero", "big", "small", "backup"]
        );
        // Draws at the top of the range pick the last record of the running sum.
        assert_eq!(
            names(order_srv(&records, |n| n)),
            ["small", "big", "zero", "backup"]
        );
        // A draw of 61 of 100 falls past "big" (0 + 60) into "small".
        let mut draws = vec![61u32, 0, 0, 0].into_iter();
        let order = order_srv(&records, |n| draws.next().unwrap_or(0).min(n));
        assert_eq!(names(order), ["small", "zero", "big", "backup"]);
        // "." alone: the service is decidedly not available (RFC 2782).
        assert!(order_srv(&[srv(0, 0, 0, ".")], first).is_empty());
    }

    /// Over many draws, weights 3:1 give roughly 3:1 first places.
    #[test]
    fn srv_weights_shape_the_first_choice() {
        let records = [srv(0, 3, 1, "a"), srv(0, 1, 2, "b")];
        let mut seed = 1u64;
        let mut random = |n: u32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            u32::try_from((seed >> 33) % (u64::from(n) + 1)).unwrap()
        };
        let a_first = (0..4000)
            .filter(|_| order_srv(&records, &mut random)[0].target == "a")
            .count();
        assert!((2700..3300).contains(&a_first), "{a_first}");
    }

    #[test]
    fn ip_literals_and_explicit_ports_skip_srv() {
        let dns = FakeDns {
            broken: vec!["example.test".into()],
            ..FakeDns::default()
        };
        let prefs = Preferences::default();
        assert_eq!(
            locate_now(&dns, "192.0.2.7", &prefs),
            Ok(vec![target(Transport::Udp, "192.0.2.7:5060")])
        );
        let tls = Preferences {
            secure: true,
            ..Preferences::default()
        };
        assert_eq!(
            locate_now(&dns, "[::1]", &tls),
            Ok(vec![target(Transport::Tls, "[::1]:5061")])
        );
        let tcp = Preferences {
            forced: Some(Transport::Tcp),
            ..Preferences::default()
        };
        assert_eq!(
            locate_now(&dns, "192.0.2.7:5070", &tcp),
            Ok(vec![target(Transport::Tcp, "192.0.2.7:5070")])
        );
        // A name with a port: A/AAAA only, UDP unless forced.
        let mut dns = FakeDns::default();
        dns.ip.insert(
            "sip.example.test".into(),
            vec![ip("192.0.2.8"), ip("2001:db8::8")],
        );
        assert_eq!(
            locate_now(&dns, "sip.example.test:5080", &prefs),
            Ok(vec![
                target(Transport::Udp, "192.0.2.8:5080"),
                target(Transport::Udp, "[2001:db8::8]:5080")
            ])
        );
    }

    #[test]
    fn naptr_then_srv_then_addresses() {
        let mut dns = FakeDns::default();
        dns.naptr.insert(
            "example.test".into(),
            vec![
                naptr(20, 0, "SIP+D2U", "_sip._udp.example.test."),
                naptr(10, 0, "SIP+D2T", "_sip._tcp.example.test."),
            ],
        );
        dns.srv.insert(
            "_sip._tcp.example.test".into(),
            vec![
                srv(1, 0, 5070, "b.example.test"),
                srv(0, 0, 5060, "a.example.test"),
            ],
        );
        dns.srv.insert(
            "_sip._udp.example.test".into(),
            vec![srv(0, 0, 5060, "a.example.test")],
        );
        dns.ip
            .insert("a.example.test".into(), vec![ip("192.0.2.1")]);
        dns.ip
            .insert("b.example.test".into(), vec![ip("192.0.2.2")]);
        assert_eq!(
            locate_now(&dns, "example.test", &Preferences::default()),
            Ok(vec![
                target(Transport::Tcp, "192.0.2.1:5060"),
                target(Transport::Tcp, "192.0.2.2:5070"),
                target(Transport::Udp, "192.0.2.1:5060"),
            ])
        );
        // A forced transport skips NAPTR and asks that transport's SRV name.
        let udp = Preferences {
            forced: Some(Transport::Udp),
            ..Preferences::default()
        };
        assert_eq!(
            locate_now(&dns, "example.test", &udp),
            Ok(vec![target(Transport::Udp, "192.0.2.1:5060")])
        );
    }

    #[test]
    fn without_naptr_srv_is_asked_per_transport_then_a_records() {
        let mut dns = FakeDns::default();
        dns.srv.insert(
            "_sip._tcp.example.test".into(),
            vec![srv(0, 0, 5090, "example.test")],
        );
        dns.ip.insert("example.test".into(), vec![ip("192.0.2.9")]);
        assert_eq!(
            locate_now(&dns, "example.test", &Preferences::default()),
            Ok(vec![target(Transport::Tcp, "192.0.2.9:5090")])
        );
        dns.srv.clear();
        assert_eq!(
            locate_now(&dns, "example.test", &Preferences::default()),
            Ok(vec![target(Transport::Udp, "192.0.2.9:5060")])
        );
        dns.ip.clear();
        assert_eq!(
            locate_now(&dns, "example.test", &Preferences::default()),
            Err(LocateError::NotFound("example.test".into()))
        );
        dns.broken.push("example.test".into());
        assert!(matches!(
            locate_now(&dns, "example.test", &Preferences::default()),
            Err(LocateError::Lookup(_))
        ));
    }
}
