//! Alice, signed in at example.com, sends a MESSAGE to bob@remote.test, a domain this server
//! does not serve. With federation on, the server locates remote.test's SIP server by
//! RFC 3263 (NAPTR → SRV → A, from a table of records standing in for DNS, pointing at a
//! socket of the test) and forwards the MESSAGE there; Alice gets the remote server's answer.
//! When the first server DNS names answers `503`, the next one gets the request (RFC 3263
//! §4.3). With federation off the answer is `403` ("relaying to other domains is not
//! enabled"), and with it on, a sender who is not one of our users gets `403` too.

use crate::fake_dns::FakeDns;
use crate::harness::{parse, reason, request, Setup, TestServer, UdpClient, ANSWER};
use crate::phone::Phone;
use parley_sip::{HeaderName, Message, Method};
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// A SIP server of remote.test: a UDP socket that answers what it receives.
struct RemoteServer {
    socket: UdpSocket,
}

impl RemoteServer {
    async fn bind() -> RemoteServer {
        RemoteServer {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// The next request and where it came from.
    async fn next_request(&self) -> (Message, SocketAddr) {
        let mut buf = vec![0u8; 65_536];
        let (n, from) = tokio::time::timeout(ANSWER, self.socket.recv_from(&mut buf))
            .await
            .expect("the request reaches the remote server")
            .unwrap();
        (parse(&buf[..n]), from)
    }

    /// Receives the next request and answers it with `code`.
    async fn answer_next(&self, code: u16) -> Message {
        let (m, from) = self.next_request().await;
        assert!(m.is_request());
        let mut r = m.response(code, "Remote", Some("remote-tag"));
        r.set_content_length();
        self.socket.send_to(&r.to_bytes(), from).await.unwrap();
        m
    }
}

/// remote.test publishes one NAPTR record for SIP over UDP, and SRV records for the given
/// servers (priority, port), all on 127.0.0.1.
fn remote_dns(servers: &[(u16, u16)]) -> FakeDns {
    let mut dns = FakeDns::default().naptr("remote.test", 10, "SIP+D2U", "_sip._udp.remote.test");
    for (i, (priority, port)) in servers.iter().enumerate() {
        let host = format!("sip{i}.remote.test");
        dns = dns
            .srv("_sip._udp.remote.test", *priority, *port, &host)
            .a(&host, "127.0.0.1");
    }
    dns
}

fn setup(federation: bool, dns: FakeDns) -> Setup {
    Setup {
        federation,
        dns: Some(dns),
        ..Setup::with_users("example.com", &[("alice", "secret")])
    }
}

#[tokio::test]
async fn a_message_to_another_domain_goes_to_the_server_srv_names() {
    let remote = RemoteServer::bind().await;
    let dns = remote_dns(&[(10, remote.port())]);
    let server = TestServer::start(setup(true, dns.clone())).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let (sent, got) = tokio::join!(
        alice.message("bob@remote.test", "hello, remote"),
        remote.answer_next(200)
    );
    assert_eq!(sent.status(), Some(200));
    assert_eq!(reason(&sent), "Remote");
    assert_eq!(got.method(), Some(&Method::Message));
    assert_eq!(got.uri().unwrap().to_string(), "sip:bob@remote.test");
    assert_eq!(&got.body[..], b"hello, remote");
    assert_eq!(got.max_forwards().unwrap(), Some(69));
    // Alice's credentials were for us.
    assert!(got.headers.get(&HeaderName::ProxyAuthorization).is_none());
    // Our Via on top of Alice's.
    let vias: Vec<_> = got.vias().flatten().collect();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].port, Some(server.udp().port()));
    let queries = dns.queries();
    for q in [
        "NAPTR remote.test",
        "SRV _sip._udp.remote.test",
        "A sip0.remote.test",
    ] {
        assert!(queries.iter().any(|x| x == q), "{q} in {queries:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_server_answering_503_is_replaced_by_the_next_one() {
    let busy = RemoteServer::bind().await;
    let spare = RemoteServer::bind().await;
    let dns = remote_dns(&[(10, busy.port()), (20, spare.port())]);
    let server = TestServer::start(setup(true, dns)).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let (sent, (first, second)) = tokio::join!(alice.message("bob@remote.test", "once"), async {
        let first = busy.answer_next(503).await;
        (first, spare.answer_next(200).await)
    });
    assert_eq!(sent.status(), Some(200));
    assert_eq!(first.call_id().unwrap(), second.call_id().unwrap());
    assert_eq!(&second.body[..], b"once");
    server.stop().await;
}

#[tokio::test]
async fn without_federation_other_domains_are_refused() {
    let remote = RemoteServer::bind().await;
    let server = TestServer::start(setup(false, remote_dns(&[(10, remote.port())]))).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let sent = alice.message("bob@remote.test", "hello?").await;
    assert_eq!(sent.status(), Some(403));
    assert_eq!(
        reason(&sent),
        "Forbidden (relaying to other domains is not enabled)"
    );
    server.stop().await;
}

#[tokio::test]
async fn federation_relays_only_for_our_users() {
    let remote = RemoteServer::bind().await;
    let server = TestServer::start(setup(true, remote_dns(&[(10, remote.port())]))).await;
    let client = UdpClient::bind(server.udp()).await;
    let text = request("MESSAGE", "sip:bob@remote.test", "UDP", client.addr(), "")
        .replace("tester@example.com", "mallory@elsewhere.org");
    let answer = client.request(&text).await.expect("an answer");
    assert_eq!(answer.status(), Some(403));
    assert_eq!(reason(&answer), "Forbidden (we relay only for our users)");
    server.stop().await;
}
