//! UDP: receiving on every socket from the driver's loop, and the choice of socket to send
//! from.

use crate::batch_io::{self, Arrival, BATCH, SLOT};
use crate::metric_names::TRANSMIT_DROPPED;
use bytes::Bytes;
use parley_sip::{Peer, Transport};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Peers remembered for choosing the socket a reply leaves from; the map is cleared when full.
const RECENT_PEERS: usize = 16_384;
/// Datagrams waiting to be sent, for the driver's current batch and for sockets whose
/// buffer was full; beyond it new ones are dropped (and counted) rather than held.
const SEND_BACKLOG: usize = 8_192;

/// Receives datagrams on every UDP socket, for the driver to poll in its own loop: a
/// datagram is handled on the task that owns the endpoint, with no hand-over to another task
/// (each hand-over costs a thread wake-up, more than parsing the message), and while the
/// driver is busy datagrams wait in the kernel's socket buffer. Each readiness of a socket
/// yields up to [`BATCH`] datagrams read with one system call.
#[derive(Debug)]
pub(crate) struct UdpReceiver {
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// [`BATCH`] slots of [`SLOT`] octets; only the pages the kernel writes become resident.
    buf: Vec<u8>,
    arrivals: Vec<Arrival>,
    /// The datagrams of the last batch, handed out by [`UdpReceiver::take`].
    batch: Vec<(Peer, Bytes)>,
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
            buf: vec![0u8; BATCH * SLOT],
            arrivals: Vec::with_capacity(BATCH),
            batch: Vec::with_capacity(BATCH),
            next: 0,
        }
    }

    /// Waits until a batch of datagrams (all from one socket) is ready for [`take`]. Datagrams
    /// of only CR and LF are keep-alives (RFC 5626 §3.5.1 sends CRLFCRLF on streams; some
    /// clients do it on UDP too) and are dropped here. Never ready without sockets.
    ///
    /// [`take`]: UdpReceiver::take
    pub(crate) async fn recv(&mut self) {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await;
    }

    /// The datagrams of the batch [`UdpReceiver::recv`] waited for, in arrival order.
    pub(crate) fn take(&mut self) -> std::vec::Drain<'_, (Peer, Bytes)> {
        self.batch.drain(..)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let n = self.sockets.len();
        let mut i = 0;
        while i < n {
            let index = (self.next + i) % n;
            let (local, socket) = &self.sockets[index];
            match socket.poll_recv_ready(cx) {
                Poll::Pending => {
                    i += 1;
                    continue;
                }
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    tracing::debug!(%local, error = %e, "udp receive readiness error");
                    i += 1;
                    continue;
                }
            }
            self.arrivals.clear();
            let (buf, arrivals) = (&mut self.buf, &mut self.arrivals);
            match socket.try_io(Interest::READABLE, || {
                batch_io::receive(socket, *local, buf, arrivals)
            }) {
                // Readiness is cleared: the next poll of this socket registers for a wake-up.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    // ICMP errors from earlier sends surface here on some platforms; they
                    // concern one peer, not the socket: try again after a turn of the
                    // scheduler.
                    tracing::debug!(%local, error = %e, "udp receive error");
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Ok(()) => {}
            }
            for (slot, arrival) in self.buf.chunks_exact(SLOT).zip(&self.arrivals) {
                let Some(remote) = arrival.from else { continue };
                let data = slot.get(..arrival.len).unwrap_or_default();
                if data.iter().all(|&b| b == b'\r' || b == b'\n') {
                    continue;
                }
                let peer = Peer {
                    transport: Transport::Udp,
                    remote,
                    local: *local,
                    connection: None,
                };
                // A copy, not a slice of `buf`: the endpoint keeps messages for the life of
                // their transactions, which would pin the whole buffer.
                self.batch.push((peer, Bytes::copy_from_slice(data)));
            }
            if !self.batch.is_empty() {
                self.next = (index + 1) % n;
                return Poll::Ready(());
            }
            // Only keep-alives: read this socket again.
        }
        Poll::Pending
    }
}

/// A datagram waiting to be sent.
#[derive(Debug)]
struct Outgoing {
    /// Index of the socket it leaves from.
    socket: usize,
    to: SocketAddr,
    data: Bytes,
}

/// The UDP listening sockets, used for sending too.
#[derive(Debug)]
pub(crate) struct UdpSockets {
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// Which socket each recent peer last reached us on.
    recent: HashMap<SocketAddr, usize>,
    /// Datagrams queued by [`UdpSockets::send`] for [`UdpSockets::flush`], in order.
    pending: Vec<Outgoing>,
}

impl UdpSockets {
    pub(crate) fn new(sockets: &[Arc<UdpSocket>]) -> UdpSockets {
        UdpSockets {
            sockets: sockets
                .iter()
                .filter_map(|s| s.local_addr().ok().map(|a| (a, Arc::clone(s))))
                .collect(),
            recent: HashMap::new(),
            pending: Vec::new(),
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

    /// Queues one datagram for [`UdpSockets::flush`], which the driver calls once it has
    /// handled a batch of input, so that the replies to a batch leave together. The socket
    /// is chosen now, while the peer map is as the request that caused the datagram left
    /// it. On failure, returns the label of the drop counter.
    pub(crate) fn send(&mut self, to: SocketAddr, data: Bytes) -> Result<(), &'static str> {
        let socket = self.choose(to).ok_or("no_udp_socket")?;
        if self.pending.len() >= SEND_BACKLOG {
            // The sockets have been full for a while: UDP is lossy and the transaction
            // layer retransmits, so dropping is better than holding ever more.
            return Err("udp_buffer_full");
        }
        self.pending.push(Outgoing { socket, to, data });
        Ok(())
    }

    /// Whether datagrams wait for a socket to become writable.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Sends the queued datagrams without waiting, one system call per run of up to
    /// [`BATCH`] datagrams from the same socket (a single one goes with `sendto`). What a
    /// full socket buffer refuses stays queued, in order, until [`UdpSockets::writable`];
    /// a datagram the kernel refuses for another reason is dropped and counted.
    pub(crate) fn flush(&mut self) {
        let mut kept = 0;
        let mut start = 0;
        while start < self.pending.len() {
            let socket = self.pending[start].socket;
            let run = self.pending[start..]
                .iter()
                .take_while(|o| o.socket == socket)
                .count();
            let end = start + run;
            let done = self.send_run(socket, start, end);
            // Moves the unsent datagrams down over the sent ones, keeping their order.
            for i in start + done..end {
                self.pending.swap(kept, i);
                kept += 1;
            }
            start = end;
        }
        self.pending.truncate(kept);
    }

    /// Sends `pending[start..end]` (all from socket `index`); how many were sent or dropped,
    /// counted from `start`. Stops at a full socket buffer.
    fn send_run(&self, index: usize, start: usize, end: usize) -> usize {
        let Some((_, socket)) = self.sockets.get(index) else {
            return end - start;
        };
        let mut batch: [(SocketAddr, &[u8]); BATCH] = [(self.pending[start].to, &[]); BATCH];
        let mut at = start;
        while at < end {
            let len = (end - at).min(BATCH);
            for (slot, o) in batch.iter_mut().zip(&self.pending[at..at + len]) {
                *slot = (o.to, &o.data[..]);
            }
            let result = if len == 1 {
                let (to, data) = batch[0];
                socket.try_send_to(data, to).map(|_| 1)
            } else {
                socket.try_io(Interest::WRITABLE, || batch_io::send(socket, &batch[..len]))
            };
            match result {
                Ok(sent) => at += sent.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    let to = self.pending[at].to;
                    tracing::debug!(%to, error = %e, "udp send failed");
                    metrics::counter!(TRANSMIT_DROPPED, "reason" => "udp_send_error").increment(1);
                    at += 1;
                }
            }
        }
        at - start
    }

    /// Waits until a socket with queued datagrams can take more.
    pub(crate) async fn writable(&self) {
        std::future::poll_fn(|cx| {
            let mut ready = false;
            for (index, (_, socket)) in self.sockets.iter().enumerate() {
                if self.pending.iter().any(|o| o.socket == index)
                    && socket.poll_send_ready(cx).is_ready()
                {
                    ready = true;
                }
            }
            if ready {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    /// Replies leave from the socket the peer sent to (RFC 3581 §4, so that they pass
    /// symmetric NATs). Otherwise: a socket of the same address family, preferring one whose
    /// address can reach the destination (loopback for loopback, or a wildcard bind).
    fn choose(&self, to: SocketAddr) -> Option<usize> {
        if let Some(&i) = self.recent.get(&to) {
            return Some(i);
        }
        let same_family = || {
            self.sockets
                .iter()
                .enumerate()
                .filter(move |(_, (a, _))| a.is_ipv4() == to.is_ipv4())
        };
        same_family()
            .find(|(_, (a, _))| {
                a.ip().is_unspecified() || a.ip().is_loopback() == to.ip().is_loopback()
            })
            .or_else(|| same_family().next())
            .map(|(i, _)| i)
    }
}
