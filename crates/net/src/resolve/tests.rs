//! RFC 3263 selection and the whole procedure over synthetic records.

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
