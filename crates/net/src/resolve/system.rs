//! [`DnsLookup`] over the system's resolvers with hickory-resolver: the thin I/O half of
//! RFC 3263 server location.

use super::{DnsLookup, LookupError, NaptrRecord, SrvRecord};
use std::net::IpAddr;
use std::time::Duration;

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
