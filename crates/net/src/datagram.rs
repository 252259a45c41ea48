//! UDP: one receive task per socket, and the choice of socket to send from.

use crate::driver::Inbound;
use crate::shutdown::{Shutdown, TaskToken};
use bytes::Bytes;
use parley_sip::{Peer, Transport};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Larger than any UDP payload (65,507 octets over IPv4), so no datagram is truncated; the
/// endpoint refuses what exceeds its own message limit with `513`.
const RECEIVE_BUFFER: usize = 65_536;
/// Peers remembered for choosing the socket a reply leaves from; the map is cleared when full.
const RECENT_PEERS: usize = 16_384;

/// Receives datagrams until shutdown and hands each to the driver. Datagrams of only CR and
/// LF are keep-alives (RFC 5626 §3.5.1 sends CRLFCRLF on streams; some clients do it on
/// UDP too) and are dropped here.
pub(crate) async fn receive(
    socket: Arc<UdpSocket>,
    inbound: mpsc::Sender<Inbound>,
    mut shutdown: Shutdown,
    _token: TaskToken,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = shutdown.wait() => return,
        };
        let (len, remote) = match received {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some platforms; they
                // concern one peer, not the socket.
                tracing::debug!(%local, error = %e, "udp receive error");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let data = &buf[..len];
        if data.iter().all(|&b| b == b'\r' || b == b'\n') {
            continue;
        }
        let peer = Peer {
            transport: Transport::Udp,
            remote,
            local,
            connection: None,
        };
        let message = Inbound::Message {
            peer,
            data: Bytes::copy_from_slice(data),
        };
        if inbound.send(message).await.is_err() {
            return;
        }
    }
}

/// The UDP listening sockets, used for sending too.
#[derive(Debug)]
pub(crate) struct UdpSockets {
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// Which socket each recent peer last reached us on.
    recent: HashMap<SocketAddr, usize>,
}

impl UdpSockets {
    pub(crate) fn new(sockets: &[Arc<UdpSocket>]) -> UdpSockets {
        UdpSockets {
            sockets: sockets
                .iter()
                .filter_map(|s| s.local_addr().ok().map(|a| (a, Arc::clone(s))))
                .collect(),
            recent: HashMap::new(),
        }
    }

    /// Records that `remote` sent to our socket bound at `local`.
    pub(crate) fn note_received(&mut self, remote: SocketAddr, local: SocketAddr) {
        let Some(index) = self.sockets.iter().position(|(a, _)| *a == local) else {
            return;
        };
        if self.recent.len() >= RECENT_PEERS && !self.recent.contains_key(&remote) {
            self.recent.clear();
        }
        self.recent.insert(remote, index);
    }

    /// Sends one datagram without waiting: a full socket buffer drops it (UDP is lossy and
    /// the transaction layer retransmits) rather than stalling the driver. On failure,
    /// returns the label of the drop counter.
    pub(crate) fn send(&self, to: SocketAddr, data: &[u8]) -> Result<(), &'static str> {
        let socket = self.choose(to).ok_or("no_udp_socket")?;
        match socket.try_send_to(data, to) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err("udp_buffer_full"),
            Err(e) => {
                tracing::debug!(%to, error = %e, "udp send failed");
                Err("udp_send_error")
            }
        }
    }

    /// Replies leave from the socket the peer sent to (RFC 3581 §4, so that they pass
    /// symmetric NATs). Otherwise: a socket of the same address family, preferring one whose
    /// address can reach the destination (loopback for loopback, or a wildcard bind).
    fn choose(&self, to: SocketAddr) -> Option<&UdpSocket> {
        if let Some(&i) = self.recent.get(&to) {
            return self.sockets.get(i).map(|(_, s)| s.as_ref());
        }
        let same_family = || {
            self.sockets
                .iter()
                .filter(move |(a, _)| a.is_ipv4() == to.is_ipv4())
        };
        same_family()
            .find(|(a, _)| a.ip().is_unspecified() || a.ip().is_loopback() == to.ip().is_loopback())
            .or_else(|| same_family().next())
            .map(|(_, s)| s.as_ref())
    }
}
