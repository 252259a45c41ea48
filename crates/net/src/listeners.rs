//! Binding the listening sockets before the driver starts, so that the server knows its own
//! addresses (they are part of its domain) and tests can bind port 0.

use parley_sip::Transport;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::TlsAcceptor;

/// Socket buffer asked for on UDP listeners: a burst of requests should wait in the kernel
/// rather than be dropped while the driver is busy. The kernel may grant less.
const UDP_BUFFER: usize = 4 << 20;
/// Pending connections the kernel queues before `accept`.
const ACCEPT_BACKLOG: i32 = 1024;
/// Attempts at finding a port free for both UDP and TCP when port 0 is asked for.
const PORT_PAIR_ATTEMPTS: usize = 32;

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind sip {transport} {addr}: {source}")]
pub struct BindError {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub source: io::Error,
}

/// A stream listener and, for TLS, its acceptor.
pub(crate) struct StreamListener {
    pub(crate) listener: TcpListener,
    pub(crate) transport: Transport,
    pub(crate) tls: Option<TlsAcceptor>,
}

/// The bound listening sockets.
pub struct ListenerSet {
    pub(crate) udp: Vec<Arc<UdpSocket>>,
    pub(crate) streams: Vec<StreamListener>,
}

impl std::fmt::Debug for ListenerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerSet")
            .field("addrs", &self.local_addrs())
            .finish()
    }
}

impl ListenerSet {
    /// Binds UDP and TCP on every `sip` address (on the same port: RFC 3261 §18 has a server
    /// listen on both; with port 0 a port free for both is picked), and TLS on every `tls`
    /// address with its server configuration.
    pub async fn bind(
        sip: &[SocketAddr],
        tls: &[(SocketAddr, Arc<rustls::ServerConfig>)],
    ) -> Result<ListenerSet, BindError> {
        let mut set = ListenerSet {
            udp: Vec::new(),
            streams: Vec::new(),
        };
        for &addr in sip {
            let (udp, tcp) = bind_udp_and_tcp(addr)?;
            set.udp.push(Arc::new(udp));
            set.streams.push(StreamListener {
                listener: tcp,
                transport: Transport::Tcp,
                tls: None,
            });
        }
        for (addr, config) in tls {
            let listener = bind_tcp(*addr).map_err(|source| BindError {
                transport: Transport::Tls,
                addr: *addr,
                source,
            })?;
            set.streams.push(StreamListener {
                listener,
                transport: Transport::Tls,
                tls: Some(TlsAcceptor::from(Arc::clone(config))),
            });
        }
        Ok(set)
    }

    /// The bound addresses (with the real ports when port 0 was asked for), UDP first.
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let udp = self
            .udp
            .iter()
            .filter_map(|s| s.local_addr().ok().map(|a| (Transport::Udp, a)));
        let streams = self
            .streams
            .iter()
            .filter_map(|s| s.listener.local_addr().ok().map(|a| (s.transport, a)));
        udp.chain(streams).collect()
    }
}

fn bind_udp_and_tcp(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), BindError> {
    let udp_error = |source| BindError {
        transport: Transport::Udp,
        addr,
        source,
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let udp = bind_udp(addr).map_err(udp_error)?;
        let bound = udp.local_addr().map_err(udp_error)?;
        match bind_tcp(bound) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e)
                if addr.port() == 0
                    && e.kind() == io::ErrorKind::AddrInUse
                    && attempts < PORT_PAIR_ATTEMPTS =>
            {
                continue
            }
            Err(source) => {
                return Err(BindError {
                    transport: Transport::Tcp,
                    addr: bound,
                    source,
                })
            }
        }
    }
}

fn new_socket(addr: SocketAddr, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() {
        // An IPv6 wildcard bind would otherwise also take the IPv4 port, so that binding
        // 0.0.0.0 and [::] on one port (a common configuration) would fail.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    // Best effort: the kernel caps these at its own maximum.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_BUFFER);
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(ACCEPT_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until shutdown and hands them to the driver, which applies the
/// connection limits.
pub(crate) async fn accept(
    listener: StreamListener,
    inbound: tokio::sync::mpsc::Sender<crate::driver::Inbound>,
    mut shutdown: crate::shutdown::Shutdown,
    _token: crate::shutdown::TaskToken,
) {
    let StreamListener {
        listener,
        transport,
        tls,
    } = listener;
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shutdown.wait() => return,
        };
        match accepted {
            Ok((stream, remote)) => {
                // SIP messages are small and latency matters more than packing.
                let _ = stream.set_nodelay(true);
                let input = crate::driver::Inbound::Accepted {
                    stream,
                    remote,
                    local,
                    transport,
                    tls: tls.clone(),
                };
                if inbound.send(input).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Out of file descriptors, mostly: wait instead of spinning.
                tracing::warn!(%local, error = %e, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                    () = shutdown.wait() => return,
                }
            }
        }
    }
}

/// Binds a TCP listener for another protocol of the server (HTTP), with the same socket
/// options as the SIP listeners.
pub fn bind_tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    bind_tcp(addr)
}

/// The host's own IP addresses that can be found without configuration: the loopback
/// addresses, and the source address the host would use towards the outside (found by
/// connecting a UDP socket, which sends nothing).
pub fn host_addresses() -> Vec<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut found = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    // Documentation addresses (RFC 5737, RFC 3849): only the routing decision is used.
    for (bind, probe) in [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")] {
        let source = std::net::UdpSocket::bind(bind)
            .and_then(|s| s.connect(probe).and_then(|()| s.local_addr()));
        if let Ok(addr) = source {
            if !found.contains(&addr.ip()) {
                found.push(addr.ip());
            }
        }
    }
    found
}
