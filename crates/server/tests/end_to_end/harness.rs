//! Starting a server on ephemeral ports, and SIP clients over UDP, TCP and TLS.

use crate::fake_dns::FakeDns;
use bytes::Bytes;
use parley_server::{BoundAddrs, Server, ServerConfig, TlsSettings};
use parley_sip::auth::Ha1s;
use parley_sip::{Frame, Limits, Message, StreamFramer, Transport};
use parley_store::{Address, Ha1Set, SqliteStore, Store, User};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for an answer that must come.
pub const ANSWER: Duration = Duration::from_secs(5);
/// How long a test waits to be sure no answer comes.
pub const SILENCE: Duration = Duration::from_millis(300);

static UNIQUE: AtomicU64 = AtomicU64::new(0);

pub fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

/// What a test changes from the defaults.
#[derive(Debug, Clone)]
pub struct Setup {
    pub domains: Vec<String>,
    pub tls: bool,
    pub idle_timeout: Duration,
    pub max_connections_per_ip: usize,
    /// Digest authentication (on by default, as in production).
    pub auth: bool,
    /// Users created before the server starts: `(address, password)`.
    pub users: Vec<(String, String)>,
    pub nonce_lifetime: Duration,
    pub min_expires: u32,
    pub offline_limit: usize,
    pub retry_interval: Duration,
    pub max_body_size: usize,
    /// Forwarding to other domains (`[federation] enabled`).
    pub federation: bool,
    /// DNS records the server sees instead of the system's (`None`: the system's).
    pub dns: Option<FakeDns>,
    /// Who may watch whom without the presentity's say (`[presence] policy`).
    pub presence_policy: parley_server::presence::SubscriptionPolicy,
}

impl Default for Setup {
    fn default() -> Self {
        let server = ServerConfig::default();
        Setup {
            domains: vec!["localhost".into()],
            tls: false,
            idle_timeout: Duration::from_secs(600),
            max_connections_per_ip: 32,
            auth: true,
            users: Vec::new(),
            nonce_lifetime: server.auth.nonce_lifetime,
            min_expires: server.registrar.min_expires,
            offline_limit: server.messaging.offline_limit,
            retry_interval: server.messaging.retry_interval,
            max_body_size: server.messaging.max_body_size,
            federation: false,
            dns: None,
            presence_policy: server.presence.policy,
        }
    }
}

impl Setup {
    /// Serves `domain` with the users `(user part, password)` in it.
    pub fn with_users(domain: &str, users: &[(&str, &str)]) -> Setup {
        Setup {
            domains: vec![domain.to_owned()],
            users: users
                .iter()
                .map(|(u, p)| (format!("{u}@{domain}"), p.to_string()))
                .collect(),
            ..Setup::default()
        }
    }
}

/// A user record as `parley user add` makes it: HA1s of the user part in the domain's realm.
pub fn user(address: &str, password: &str) -> User {
    let address = Address::parse(address).unwrap();
    let ha1 = Ha1s::compute(address.user(), address.domain(), password);
    User {
        ha1: Ha1Set {
            realm: address.domain().to_owned(),
            md5: ha1.md5,
            sha256: ha1.sha256,
        },
        address,
    }
}

/// A server running in the test's runtime; stopped when dropped.
pub struct TestServer {
    pub addrs: BoundAddrs,
    /// The self-signed certificate (DER) when TLS is on, for clients to trust.
    pub cert_der: Option<Vec<u8>>,
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), parley_server::RunError>>>,
    /// Removed when the server is dropped, unless it is being restarted.
    data_dir: Option<PathBuf>,
    setup: Setup,
}

impl TestServer {
    pub async fn start(setup: Setup) -> TestServer {
        let data_dir =
            std::env::temp_dir().join(format!("parley-e2e-{}-{}", std::process::id(), unique()));
        let server = TestServer::start_in(data_dir, setup.clone()).await;
        for (address, password) in &setup.users {
            server.store.add_user(&user(address, password)).unwrap();
        }
        server
    }

    /// Stops the server and starts a new one on the same data directory (new ports).
    pub async fn restart(mut self) -> TestServer {
        let data_dir = self.data_dir.take().unwrap();
        let setup = self.setup.clone();
        self.shutdown().await;
        TestServer::start_in(data_dir, setup).await
    }

    async fn start_in(data_dir: PathBuf, setup: Setup) -> TestServer {
        let mut config = ServerConfig {
            domains: setup.domains.clone(),
            sip: vec!["127.0.0.1:0".parse().unwrap()],
            http: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.join("data"),
            ..ServerConfig::default()
        };
        config.net.idle_timeout = setup.idle_timeout;
        config.net.max_connections_per_ip = setup.max_connections_per_ip;
        config.auth.enabled = setup.auth;
        config.auth.nonce_lifetime = setup.nonce_lifetime;
        config.registrar.min_expires = setup.min_expires;
        config.messaging.offline_limit = setup.offline_limit;
        config.messaging.retry_interval = setup.retry_interval;
        config.messaging.max_body_size = setup.max_body_size;
        config.federation.enabled = setup.federation;
        config.presence.policy = setup.presence_policy;
        let mut cert_der = None;
        if setup.tls {
            let cert = rcgen::generate_simple_self_signed(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])
            .unwrap();
            std::fs::create_dir_all(&data_dir).unwrap();
            let (cert_path, key_path) = (data_dir.join("cert.pem"), data_dir.join("key.pem"));
            std::fs::write(&cert_path, cert.cert.pem()).unwrap();
            std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
            cert_der = Some(cert.cert.der().to_vec());
            config.tls = Some(TlsSettings {
                listen: "127.0.0.1:0".parse().unwrap(),
                cert: cert_path,
                key: key_path,
            });
        }
        let server = match &setup.dns {
            None => Server::bind(config).await.unwrap(),
            Some(dns) => {
                std::fs::create_dir_all(&config.data_dir).unwrap();
                let store = SqliteStore::open(&config.data_dir).unwrap();
                Server::bind_with(config, Arc::new(store), Arc::new(dns.clone()))
                    .await
                    .unwrap()
            }
        };
        let addrs = server.addrs().clone();
        let store = server.store();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestServer {
            addrs,
            cert_der,
            store,
            stop: Some(stop),
            task: Some(task),
            data_dir: Some(data_dir),
            setup,
        }
    }

    pub fn udp(&self) -> SocketAddr {
        self.addrs.first(Transport::Udp).unwrap()
    }

    pub fn tcp(&self) -> SocketAddr {
        self.addrs.first(Transport::Tcp).unwrap()
    }

    pub fn tls(&self) -> SocketAddr {
        self.addrs.first(Transport::Tls).unwrap()
    }

    /// The Request-URI of the server itself.
    pub fn uri(&self) -> String {
        format!("sip:{}", self.udp())
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .unwrap()
                .unwrap();
        }
    }

    /// Asserts that the server still answers OPTIONS over UDP with 200.
    pub async fn assert_alive(&self) {
        let client = UdpClient::bind(self.udp()).await;
        let response = client
            .request(&request("OPTIONS", &self.uri(), "UDP", client.addr(), ""))
            .await
            .expect("the server answers OPTIONS");
        assert_eq!(response.status(), Some(200));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A request as a client would send it, with a fresh Call-ID and branch; `extra` holds
/// further header lines (CRLF-terminated).
pub fn request(
    method: &str,
    uri: &str,
    transport: &str,
    sent_by: SocketAddr,
    extra: &str,
) -> String {
    let n = unique();
    let max_forwards = if extra.to_ascii_lowercase().contains("max-forwards") {
        ""
    } else {
        "Max-Forwards: 70\r\n"
    };
    format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK-e2e-{n};rport\r\n\
         {max_forwards}\
         From: <sip:tester@example.com>;tag=e2e{n}\r\n\
         To: <{uri}>\r\n\
         Call-ID: e2e-{n}@test\r\n\
         CSeq: 1 {method}\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    )
}

/// Parses an answer. Not validated: an answer to a malformed request copies its fields.
pub fn parse(data: &[u8]) -> Message {
    Message::parse(Bytes::copy_from_slice(data), &Limits::default()).unwrap_or_else(|e| {
        panic!(
            "unparseable answer {e:?}: {}",
            String::from_utf8_lossy(data)
        )
    })
}

/// A SIP client on a UDP socket of its own.
pub struct UdpClient {
    pub socket: UdpSocket,
    server: SocketAddr,
}

impl UdpClient {
    pub async fn bind(server: SocketAddr) -> UdpClient {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        UdpClient { socket, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    pub async fn send(&self, data: &[u8]) {
        self.socket.send_to(data, self.server).await.unwrap();
    }

    /// The next datagram within `wait`, parsed.
    pub async fn recv(&self, wait: Duration) -> Option<Message> {
        let mut buf = vec![0u8; 65_536];
        match tokio::time::timeout(wait, self.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(parse(&buf[..n])),
            Ok(Err(e)) => panic!("udp receive: {e}"),
            Err(_) => None,
        }
    }

    pub async fn request(&self, text: &str) -> Option<Message> {
        self.send(text.as_bytes()).await;
        self.recv(ANSWER).await
    }
}

/// What came back on a stream.
#[derive(Debug)]
pub enum Received {
    Message(Message),
    Closed,
    Nothing,
}

/// A SIP client on a TCP or TLS connection.
pub struct StreamClient<S> {
    pub io: S,
    framer: StreamFramer,
}

impl StreamClient<TcpStream> {
    pub async fn tcp(server: SocketAddr) -> StreamClient<TcpStream> {
        StreamClient::new(TcpStream::connect(server).await.unwrap())
    }
}

impl StreamClient<tokio_rustls::client::TlsStream<TcpStream>> {
    pub async fn tls(
        server: SocketAddr,
        cert_der: &[u8],
    ) -> StreamClient<tokio_rustls::client::TlsStream<TcpStream>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der.to_vec().into()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(server).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        StreamClient::new(connector.connect(name, tcp).await.unwrap())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> StreamClient<S> {
    pub fn new(io: S) -> StreamClient<S> {
        StreamClient {
            io,
            framer: StreamFramer::new(Limits::default()),
        }
    }

    pub async fn send(&mut self, data: &[u8]) {
        self.io.write_all(data).await.unwrap();
        self.io.flush().await.unwrap();
    }

    /// The next framed message within `wait`, or the end of the stream.
    pub async fn recv(&mut self, wait: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.framer.next_frame() {
                Ok(Some(Frame::Message(data))) => return Received::Message(parse(&data)),
                Ok(Some(Frame::Ping)) => continue,
                Ok(None) => {}
                Err(e) => panic!("server sent unframeable bytes: {e:?}"),
            }
            self.framer.buffer_mut().reserve(4096);
            let read =
                tokio::time::timeout_at(deadline, self.io.read_buf(self.framer.buffer_mut()));
            match read.await {
                Err(_) => return Received::Nothing,
                Ok(Ok(0)) | Ok(Err(_)) => return Received::Closed,
                Ok(Ok(_)) => {}
            }
        }
    }

    pub async fn request(&mut self, text: &str) -> Message {
        self.send(text.as_bytes()).await;
        match self.recv(ANSWER).await {
            Received::Message(m) => m,
            other => panic!("no answer: {other:?}"),
        }
    }
}

/// The reason phrase of a response.
pub fn reason(response: &Message) -> String {
    match &response.start {
        parley_sip::StartLine::Response(s) => String::from_utf8_lossy(&s.reason).into_owned(),
        parley_sip::StartLine::Request(_) => panic!("not a response"),
    }
}
