//! Several datagrams per system call: `recvmmsg` and `sendmmsg` on Linux, one datagram per
//! call elsewhere. Each call costs a kernel entry and exit of its own, so under load moving a
//! batch at once costs less per datagram than the floor of one receive and one send each.
//!
//! Both functions work on a non-blocking socket and never wait: "nothing to read" and
//! "socket buffer full" come back as [`io::ErrorKind::WouldBlock`], which the callers run
//! inside `UdpSocket::try_io` so that tokio learns the socket is not ready.

use std::io;
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// Datagrams moved by one call at most.
pub(crate) const BATCH: usize = 32;
/// Room for one datagram: larger than any UDP payload (65,507 octets over IPv4), so no
/// datagram is truncated; the endpoint refuses what exceeds its own message limit with `513`.
pub(crate) const SLOT: usize = 65_536;

/// One received datagram: its length (it starts at the beginning of its slot) and sender
/// (`None` for an address that is neither IPv4 nor IPv6, which a UDP socket of ours cannot
/// receive; kept so that each arrival stays at the index of its slot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub(crate) len: usize,
    pub(crate) from: Option<SocketAddr>,
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{Arrival, BATCH, SLOT};
    use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use rustix::net::{
        addr::SocketAddrArg, sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny,
    };
    use std::cell::RefCell;
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;
    use tokio::net::UdpSocket;

    thread_local! {
        /// The kernel's per-message headers for `recvmmsg`, allocated once per thread rather
        /// than per call. (They hold raw pointers, so they cannot live in the driver's
        /// future, which moves between threads; and they must never be handed to
        /// `sendmmsg`, which would leave them pointing at its addresses.) One set per address
        /// family: the kernel leaves each header's address length at the size of the last
        /// address it wrote, and nix does not reset it, so headers that had received from an
        /// IPv4 peer would cut an IPv6 sender's address short.
        static RECEIVE_HEADERS_V4: RefCell<MultiHeaders<SockaddrStorage>> =
            RefCell::new(MultiHeaders::preallocate(BATCH, None));
        static RECEIVE_HEADERS_V6: RefCell<MultiHeaders<SockaddrStorage>> =
            RefCell::new(MultiHeaders::preallocate(BATCH, None));
    }

    pub(crate) fn receive(
        socket: &UdpSocket,
        local: SocketAddr,
        buf: &mut [u8],
        out: &mut Vec<Arrival>,
    ) -> io::Result<()> {
        let fd = socket.as_raw_fd();
        // A socket receives from peers of its own family only (IPv6 sockets are bound
        // IPv6-only by the listeners).
        let headers = if local.is_ipv4() {
            &RECEIVE_HEADERS_V4
        } else {
            &RECEIVE_HEADERS_V6
        };
        headers.with_borrow_mut(|headers| {
            let mut slots = buf.chunks_exact_mut(SLOT);
            let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] =
                std::array::from_fn(|_| [IoSliceMut::new(slots.next().unwrap_or_default())]);
            let received = recvmmsg(fd, headers, iovs.iter_mut(), MsgFlags::empty(), None)?;
            out.extend(received.map(|message| Arrival {
                len: message.bytes,
                from: message.address.as_ref().and_then(socket_addr),
            }));
            Ok(())
        })
    }

    fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::from(*v4));
        }
        addr.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
    }

    pub(crate) fn send(socket: &UdpSocket, batch: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
        let batch = &batch[..batch.len().min(BATCH)];
        // On the stack; only the kernel's headers, which borrow these, are allocated.
        let addrs: [Option<SocketAddrAny>; BATCH] =
            std::array::from_fn(|i| batch.get(i).map(|(to, _)| to.as_any()));
        let iovs: [[IoSlice<'_>; 1]; BATCH] =
            std::array::from_fn(|i| [IoSlice::new(batch.get(i).map_or(&[][..], |(_, data)| data))]);
        let mut controls: [SendAncillaryBuffer<'_, '_, '_>; BATCH] =
            std::array::from_fn(|_| SendAncillaryBuffer::default());
        let mut headers: Vec<MMsgHdr<'_>> = addrs
            .iter()
            .flatten()
            .zip(&iovs)
            .zip(controls.iter_mut())
            .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
            .collect();
        Ok(sendmmsg(socket, &mut headers, SendFlags::empty())?)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{Arrival, SLOT};
    use std::io;
    use std::net::SocketAddr;
    use tokio::net::UdpSocket;

    pub(crate) fn receive(
        socket: &UdpSocket,
        _local: SocketAddr,
        buf: &mut [u8],
        out: &mut Vec<Arrival>,
    ) -> io::Result<()> {
        let slot = buf.get_mut(..SLOT).unwrap_or_default();
        let (len, from) = socket.try_recv_from(slot)?;
        out.push(Arrival {
            len,
            from: Some(from),
        });
        Ok(())
    }

    pub(crate) fn send(socket: &UdpSocket, batch: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
        match batch.first() {
            Some((to, data)) => socket.try_send_to(data, *to).map(|_| 1),
            None => Ok(0),
        }
    }
}

/// Receives up to [`BATCH`] datagrams on `socket`, bound at `local`, each into its own
/// [`SLOT`] of `buf` (which holds `BATCH` slots), appending their lengths and senders to
/// `out`. `WouldBlock` when none is waiting.
pub(crate) fn receive(
    socket: &UdpSocket,
    local: SocketAddr,
    buf: &mut [u8],
    out: &mut Vec<Arrival>,
) -> io::Result<()> {
    imp::receive(socket, local, buf, out)
}

/// Sends the first datagrams of `batch` (up to [`BATCH`]) in one call, each to its own
/// address; how many the kernel took. An error concerns the first datagram: the kernel
/// reports a later one's failure by stopping short, and the next call starts with it.
pub(crate) fn send(socket: &UdpSocket, batch: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
    imp::send(socket, batch)
}
