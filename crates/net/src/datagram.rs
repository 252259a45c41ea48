//! UDP: receiving on every socket from the driver's loop, and the choice of socket to send
//! from.

use bytes::Bytes;
use parley_sip::{Peer, Transport};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

/// Larger than any UDP payload (65,507 octets over IPv4), so no datagram is truncated; the
/// endpoint refuses what exceeds its own message limit with `513`.
const RECEIVE_BUFFER: usize = 65_536;
/// Peers remembered for choosing the socket a reply leaves from; the map is cleared when full.
const RECENT_PEERS: usize = 16_384;

/// Receives datagrams on every UDP socket, for the driver to poll in its own loop: a
/// datagram is handled on the task that owns the endpoint, with no hand-over to another task
/// (each hand-over costs a thread wake-up, more than parsing the message), and while the
/// driver is busy datagrams wait in the kernel's socket buffer.
#[derive(Debug)]
pub(crate) struct UdpReceiver {
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    buf: Vec<u8>,
    /// The socket polled first next time, so that a busy socket does not starve the others.
    next: usize,
}

impl UdpReceiver {
    pub(crate) fn new(sockets: &[Arc<UdpSocket>]) -> UdpReceiver {
        UdpReceiver {
            sockets: sockets
                .iter()
                .filter_map(|s| s.local_addr().ok().map(|a| (a, Arc::clone(s))))
                .collect(),
            buf: vec![0u8; RECEIVE_BUFFER],
            next: 0,
        }
    }

    /// The next datagram that is not a keep-alive. Datagrams of only CR and LF are
    /// keep-alives (RFC 5626 §3.5.1 sends CRLFCRLF on streams; some clients do it on UDP
    /// too) and are dropped here. Never ready without sockets.
    pub(crate) async fn recv(&mut self) -> (Peer, Bytes) {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<(Peer, Bytes)> {
        let n = self.sockets.len();
        let mut i = 0;
        while i < n {
            let index = (self.next + i) % n;
            let (local, socket) = &self.sockets[index];
            let mut buf = ReadBuf::new(&mut self.buf);
            match socket.poll_recv_from(cx, &mut buf) {
                Poll::Pending => i += 1,
                Poll::Ready(Err(e)) => {
                    // ICMP errors from earlier sends surface here on some platforms; they
                    // concern one peer, not the socket: try again after a turn of the
                    // scheduler.
                    tracing::debug!(%local, error = %e, "udp receive error");
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(remote)) => {
                    let data = buf.filled();
                    if data.iter().all(|&b| b == b'\r' || b == b'\n') {
                        continue;
                    }
                    self.next = (index + 1) % n;
                    let peer = Peer {
                        transport: Transport::Udp,
                        remote,
                        local: *local,
                        connection: None,
                    };
                    return Poll::Ready((peer, Bytes::copy_from_slice(data)));
                }
            }
        }
        Poll::Pending
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
