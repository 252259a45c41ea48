//! The driver's table of open stream connections, with the limits on how many one peer and
//! all peers together may hold.

use crate::metric_names::CONNECTIONS_OPEN;
use crate::stream::Outbound;
use parley_sip::{ConnectionId, Transport};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tokio::sync::mpsc;

/// Messages queued for one connection's writer. A peer that stops reading fills it, and
/// further messages to it are dropped rather than stalling the driver.
const OUTBOUND_QUEUE: usize = 64;

/// One open (or opening) connection, as the driver sees it.
#[derive(Debug)]
pub(crate) struct ConnectionEntry {
    pub(crate) transport: Transport,
    pub(crate) remote: SocketAddr,
    pub(crate) outbound: mpsc::Sender<Outbound>,
    /// The peer has closed its side; the transaction user has been told.
    pub(crate) finished: bool,
}

/// Why a connection was not admitted; the label of the refusal counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    TotalLimit,
    PerIpLimit,
}

impl Refusal {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::TotalLimit => "limit_total",
            Refusal::PerIpLimit => "limit_per_ip",
        }
    }
}

#[derive(Debug)]
pub(crate) struct ConnectionTable {
    next_id: u64,
    by_id: HashMap<ConnectionId, ConnectionEntry>,
    by_remote: HashMap<(Transport, SocketAddr), ConnectionId>,
    per_ip: HashMap<IpAddr, usize>,
    max_total: usize,
    max_per_ip: usize,
}

impl ConnectionTable {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> ConnectionTable {
        ConnectionTable {
            next_id: 1,
            by_id: HashMap::new(),
            by_remote: HashMap::new(),
            per_ip: HashMap::new(),
            max_total,
            max_per_ip,
        }
    }

    /// Registers a new connection if the limits allow it; the receiver is the connection's
    /// outbound queue, for its task.
    pub(crate) fn admit(
        &mut self,
        transport: Transport,
        remote: SocketAddr,
    ) -> Result<(ConnectionId, mpsc::Receiver<Outbound>), Refusal> {
        if self.by_id.len() >= self.max_total {
            return Err(Refusal::TotalLimit);
        }
        let from_ip = self.per_ip.entry(remote.ip()).or_insert(0);
        if *from_ip >= self.max_per_ip {
            return Err(Refusal::PerIpLimit);
        }
        *from_ip += 1;
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        let (outbound, rx) = mpsc::channel(OUTBOUND_QUEUE);
        self.by_id.insert(
            id,
            ConnectionEntry {
                transport,
                remote,
                outbound,
                finished: false,
            },
        );
        self.by_remote.insert((transport, remote), id);
        self.publish_gauge();
        Ok((id, rx))
    }

    /// Notes that the peer of `id` has closed its side; whether this is news.
    pub(crate) fn mark_finished(&mut self, id: ConnectionId) -> bool {
        match self.by_id.get_mut(&id) {
            Some(entry) if !entry.finished => {
                entry.finished = true;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn remove(&mut self, id: ConnectionId) -> Option<ConnectionEntry> {
        let entry = self.by_id.remove(&id)?;
        let key = (entry.transport, entry.remote);
        if self.by_remote.get(&key) == Some(&id) {
            self.by_remote.remove(&key);
        }
        if let Some(n) = self.per_ip.get_mut(&entry.remote.ip()) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&entry.remote.ip());
            }
        }
        self.publish_gauge();
        Some(entry)
    }

    pub(crate) fn get(&self, id: ConnectionId) -> Option<&ConnectionEntry> {
        self.by_id.get(&id)
    }

    /// The connection to `remote` over `transport`, if one is open (RFC 3261 §18.1.1: reuse
    /// an existing connection to the destination).
    pub(crate) fn find(&self, transport: Transport, remote: SocketAddr) -> Option<ConnectionId> {
        self.by_remote.get(&(transport, remote)).copied()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    fn publish_gauge(&self) {
        // Precision loss is irrelevant: the count is bounded by max_total.
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(CONNECTIONS_OPEN).set(self.by_id.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limits_total_and_per_ip() {
        let mut table = ConnectionTable::new(3, 2);
        let a1 = table.admit(Transport::Tcp, addr("192.0.2.1:1000")).unwrap();
        table.admit(Transport::Tcp, addr("192.0.2.1:1001")).unwrap();
        assert_eq!(
            table.admit(Transport::Tcp, addr("192.0.2.1:1002")).err(),
            Some(Refusal::PerIpLimit)
        );
        table.admit(Transport::Tls, addr("192.0.2.2:1000")).unwrap();
        assert_eq!(
            table.admit(Transport::Tcp, addr("192.0.2.3:1000")).err(),
            Some(Refusal::TotalLimit)
        );
        table.remove(a1.0);
        assert_eq!(table.len(), 2);
        assert!(table.admit(Transport::Tcp, addr("192.0.2.1:1003")).is_ok());
        assert_eq!(
            table.find(Transport::Tls, addr("192.0.2.2:1000")),
            Some(ConnectionId(3))
        );
        assert_eq!(table.find(Transport::Tcp, addr("192.0.2.2:1000")), None);
    }
}
