//! A table of DNS records standing in for the system's resolvers: no test depends on real
//! DNS. Names absent from the table have no records (NXDOMAIN).

use parley_net::resolve::{DnsLookup, LookupError, NaptrRecord, SrvRecord};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// NAPTR, SRV and A/AAAA records by name, and the names queried, in order.
#[derive(Debug, Clone, Default)]
pub struct FakeDns {
    naptr: HashMap<String, Vec<NaptrRecord>>,
    srv: HashMap<String, Vec<SrvRecord>>,
    ip: HashMap<String, Vec<IpAddr>>,
    queries: Arc<Mutex<Vec<String>>>,
}

impl FakeDns {
    /// A NAPTR record `SIP+D2U`-style (`services`) pointing at the SRV name `replacement`.
    pub fn naptr(mut self, name: &str, order: u16, services: &str, replacement: &str) -> Self {
        self.naptr
            .entry(name.into())
            .or_default()
            .push(NaptrRecord {
                order,
                preference: 10,
                flags: "s".into(),
                services: services.into(),
                replacement: replacement.into(),
            });
        self
    }

    pub fn srv(mut self, name: &str, priority: u16, port: u16, target: &str) -> Self {
        self.srv.entry(name.into()).or_default().push(SrvRecord {
            priority,
            weight: 0,
            port,
            target: target.into(),
        });
        self
    }

    pub fn a(mut self, name: &str, ip: &str) -> Self {
        self.ip
            .entry(name.into())
            .or_default()
            .push(ip.parse().unwrap());
        self
    }

    /// The queries made so far, as `TYPE name`.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }

    fn log(&self, kind: &str, name: &str) {
        self.queries.lock().unwrap().push(format!("{kind} {name}"));
    }
}

impl DnsLookup for FakeDns {
    async fn naptr(&self, name: &str) -> Result<Vec<NaptrRecord>, LookupError> {
        self.log("NAPTR", name);
        Ok(self.naptr.get(name).cloned().unwrap_or_default())
    }

    async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, LookupError> {
        self.log("SRV", name);
        Ok(self.srv.get(name).cloned().unwrap_or_default())
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        self.log("A", host);
        Ok(self.ip.get(host).cloned().unwrap_or_default())
    }
}
