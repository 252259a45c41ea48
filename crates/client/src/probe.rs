//! A quick look at whether a server is there before the first request, so that "nothing
//! listens" is reported in a moment rather than after the 32-second transaction timeout
//! (RFC 3263 §4.3 counts ICMP errors and refused connections as failures).

use parley_net::resolve::ServerTarget;
use parley_sip::Transport;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpStream, UdpSocket};

/// How long an ICMP "port unreachable" is waited for after the UDP probe. On a LAN or the
/// loopback it comes back in well under a millisecond.
const UDP_PROBE_WAIT: Duration = Duration::from_millis(200);
/// How long a TCP connection may take to open.
const TCP_CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// The source address this host uses towards `to` (a routing decision; nothing is sent).
pub fn route_source(to: SocketAddr) -> io::Result<IpAddr> {
    let bind: SocketAddr = if to.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = std::net::UdpSocket::bind(bind)?;
    socket.connect(to)?;
    Ok(socket.local_addr()?.ip())
}

/// `Err` with what went wrong when `target` certainly cannot be reached. Over UDP a CRLFCRLF
/// keep-alive (RFC 5626 §3.5.1; servers ignore it) is sent from a connected socket, which
/// hears the ICMP error if the port is closed; silence counts as reachable. Over TCP a
/// connection is opened and closed.
pub async fn probe(target: &ServerTarget, local_ip: IpAddr) -> Result<(), String> {
    match target.transport {
        Transport::Udp => {
            let attempt = async {
                let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?;
                socket.connect(target.addr).await?;
                socket.send(b"\r\n\r\n").await?;
                let mut buf = [0u8; 64];
                match tokio::time::timeout(UDP_PROBE_WAIT, socket.recv(&mut buf)).await {
                    Ok(Err(e)) => Err(e),
                    _ => Ok(()),
                }
            };
            attempt.await.map_err(|e| describe(target, &e))
        }
        _ => match tokio::time::timeout(TCP_CONNECT_LIMIT, TcpStream::connect(target.addr)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(describe(target, &e)),
            Err(_) => Err(format!(
                "{target}: no connection within {} s",
                TCP_CONNECT_LIMIT.as_secs()
            )),
        },
    }
}

fn describe(target: &ServerTarget, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("{target}: connection refused"),
        _ => format!("{target}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_refused_and_an_open_one_is_not() {
        let open = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let local = IpAddr::from([127, 0, 0, 1]);
        let udp = |addr| ServerTarget {
            transport: Transport::Udp,
            addr,
        };
        assert_eq!(probe(&udp(open.local_addr().unwrap()), local).await, Ok(()));
        let refused = probe(&udp(closed_addr), local).await.unwrap_err();
        assert!(refused.contains("connection refused"), "{refused}");
        let tcp = ServerTarget {
            transport: Transport::Tcp,
            addr: closed_addr,
        };
        assert!(probe(&tcp, local).await.unwrap_err().contains("refused"));
        assert_eq!(
            route_source("127.0.0.1:5060".parse().unwrap()).unwrap(),
            local
        );
    }
}
