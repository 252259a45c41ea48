//! A tiny registrar and message UAS on plain tokio UDP and TCP sockets (one port), challenging
//! with the real digest code of `parley_sip::auth`: enough of a server to test the client
//! against while the real one is built elsewhere. It records every request it receives, and
//! delivers messages back the way a binding came (over its TCP connection when it has one).

use bytes::Bytes;
use parley_sip::auth::{
    Authenticator, Credentials, Ha1s, NonceCounts, NonceKey, Outcome, RequestInfo,
};
use parley_sip::header::contact::contact_expires;
use parley_sip::header::Contact;
use parley_sip::{Frame, HeaderName, Limits, Message, Method, StreamFramer, Uri};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub const REALM: &str = "example.test";

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct Behavior {
    /// Users and their passwords.
    pub users: Vec<(&'static str, &'static str)>,
    /// The longest binding granted.
    pub max_expires: u32,
    /// Bindings shorter than this get `423` with `Min-Expires`.
    pub min_expires: u32,
    /// The first request with right credentials is answered `stale=true` instead.
    pub stale_once: bool,
    /// Answer every REGISTER with this status instead (after authentication).
    pub register_status: Option<u16>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            users: vec![("alice", "secret"), ("bob", "hunter2")],
            max_expires: 300,
            min_expires: 0,
            stale_once: false,
            register_status: None,
        }
    }
}

/// Where a request came from, and so where its answer (or a later request) goes.
#[derive(Debug, Clone)]
pub enum Source {
    Udp(SocketAddr),
    /// The connection it arrived on.
    Tcp(mpsc::UnboundedSender<Bytes>),
}

/// A binding the fake registrar holds.
#[derive(Debug, Clone)]
pub struct Binding {
    pub contact: String,
    pub expires: u32,
    pub source: Source,
}

#[derive(Default)]
struct State {
    received: Vec<Message>,
    bindings: HashMap<String, Binding>,
    /// MESSAGE requests accepted (the fake stores them instead of relaying).
    messages: Vec<Message>,
    stale_sent: bool,
    waiting: HashMap<String, oneshot::Sender<Message>>,
}

pub struct FakeServer {
    pub addr: SocketAddr,
    socket: Arc<UdpSocket>,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl FakeServer {
    pub async fn start(behavior: Behavior) -> FakeServer {
        // UDP and TCP on one port: retry until the UDP port is free for TCP too.
        let (socket, listener) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (Arc::new(udp), tcp);
            }
        };
        let addr = socket.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let core = Arc::new(Mutex::new(Core {
            behavior,
            auth: Authenticator::new(NonceKey::new(format!("fake secret {addr}").as_bytes(), 42)),
            counts: NonceCounts::new(1024),
            state: Arc::clone(&state),
        }));
        let udp = Arc::clone(&socket);
        let udp_core = Arc::clone(&core);
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((len, from)) = udp.recv_from(&mut buf).await else {
                    return;
                };
                let data = Bytes::copy_from_slice(&buf[..len]);
                if let Some(reply) = handle(&udp_core, data, Source::Udp(from)) {
                    let _ = udp.send_to(&reply, from).await;
                }
            }
        });
        let task = tokio::spawn(async move {
            let _udp = AbortOnDrop(udp_task);
            let mut connections = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.push(AbortOnDrop(tokio::spawn(serve_connection(
                    stream,
                    Arc::clone(&core),
                ))));
            }
        });
        FakeServer {
            addr,
            socket,
            state,
            task,
        }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Message> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn binding(&self, user: &str) -> Option<Binding> {
        self.state.lock().unwrap().bindings.get(user).cloned()
    }

    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Sends a MESSAGE to the registered contact of `user`, as a server delivering a stored
    /// message would (with a `Date`), and returns the response.
    pub async fn deliver(&self, user: &str, from: &str, body: &str, date: Option<&str>) -> Message {
        let binding = self.binding(user).expect("user is registered");
        let transport = match binding.source {
            Source::Udp(_) => "UDP",
            Source::Tcp(_) => "TCP",
        };
        let call_id = format!("deliver-{}", now());
        let date = date.map(|d| format!("Date: {d}\r\n")).unwrap_or_default();
        let text = format!(
            "MESSAGE {contact} SIP/2.0\r\nVia: SIP/2.0/{transport} {addr};branch=z9hG4bK{call_id}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{from}>;tag=f1\r\nTo: <sip:{user}@{REALM}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\n{date}Content-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len(),
            contact = binding.contact,
            addr = self.addr,
        );
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().waiting.insert(call_id, tx);
        match binding.source {
            Source::Udp(to) => {
                self.socket.send_to(text.as_bytes(), to).await.unwrap();
            }
            Source::Tcp(connection) => connection.send(Bytes::from(text)).unwrap(),
        }
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .unwrap()
            .unwrap()
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One received message: a request is answered (the reply returned), a response goes to
/// whoever waits for it.
fn handle(core: &Mutex<Core>, data: Bytes, from: Source) -> Option<Bytes> {
    let msg = Message::parse(data, &Limits::default()).ok()?;
    let mut core = core.lock().unwrap();
    if msg.is_request() {
        return Some(core.handle(&msg, from).to_bytes());
    }
    let waiter = core
        .state
        .lock()
        .unwrap()
        .waiting
        .remove(msg.call_id().ok()?);
    if let Some(w) = waiter {
        let _ = w.send(msg);
    }
    None
}

/// Reads framed messages from a connection and writes replies and deliveries to it.
async fn serve_connection(stream: TcpStream, core: Arc<Mutex<Core>>) {
    let (mut reader, mut writer) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Bytes>();
    let writing = AbortOnDrop(tokio::spawn(async move {
        while let Some(data) = out_rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                return;
            }
        }
    }));
    let mut framer = StreamFramer::new(Limits::default());
    loop {
        match framer.next_frame() {
            Ok(Some(Frame::Message(data))) => {
                if let Some(reply) = handle(&core, data, Source::Tcp(out_tx.clone())) {
                    let _ = out_tx.send(reply);
                }
                continue;
            }
            Ok(Some(Frame::Ping)) => continue,
            Ok(None) => {}
            Err(_) => break,
        }
        match reader.read_buf(framer.buffer_mut()).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    drop(writing);
}

struct Core {
    behavior: Behavior,
    auth: Authenticator,
    counts: NonceCounts,
    state: Arc<Mutex<State>>,
}

impl Core {
    fn handle(&mut self, req: &Message, from: Source) -> Message {
        self.state.lock().unwrap().received.push(req.clone());
        let method = req.method().cloned().unwrap();
        let (challenge_code, creds_header) = match method {
            Method::Register => (401, HeaderName::Authorization),
            _ => (407, HeaderName::ProxyAuthorization),
        };
        let user = match self.authenticate(req, &creds_header) {
            Ok(user) => user,
            Err(stale) => return self.challenge(req, challenge_code, stale),
        };
        match method {
            Method::Register => self.register(req, &user, from),
            Method::Message => {
                let to = req.to_header().unwrap();
                let Uri::Sip(to) = &to.uri else {
                    unreachable!()
                };
                let known = self
                    .behavior
                    .users
                    .iter()
                    .any(|(u, _)| Some(*u) == to.user.as_deref());
                if !known {
                    return respond(req, 404, "Not Found");
                }
                self.state.lock().unwrap().messages.push(req.clone());
                respond(req, 200, "OK")
            }
            _ => respond(req, 405, "Method Not Allowed"),
        }
    }

    /// `Ok(user)`, or `Err(stale)` to challenge.
    fn authenticate(&mut self, req: &Message, header: &HeaderName) -> Result<String, bool> {
        let all = req.auth_params(header).map_err(|_| false)?;
        let Some(params) = all.first() else {
            return Err(false);
        };
        let creds = Credentials::parse(params).map_err(|_| false)?;
        let ha1s = self
            .behavior
            .users
            .iter()
            .find(|(u, _)| *u == creds.username)
            .map(|(u, p)| Ha1s::compute(u, REALM, p));
        let info = RequestInfo {
            method: req.method().unwrap().as_str(),
            request_uri: req.uri().unwrap(),
            realm: REALM,
        };
        match self
            .auth
            .verify(&creds, &info, ha1s.as_ref(), now(), &mut self.counts)
        {
            Outcome::Ok { username, .. } => {
                let mut state = self.state.lock().unwrap();
                if self.behavior.stale_once && !state.stale_sent {
                    state.stale_sent = true;
                    return Err(true);
                }
                Ok(username)
            }
            Outcome::Stale(_) => Err(true),
            _ => Err(false),
        }
    }

    fn challenge(&self, req: &Message, code: u16, stale: bool) -> Message {
        let (reason, header) = match code {
            401 => ("Unauthorized", HeaderName::WwwAuthenticate),
            _ => (
                "Proxy Authentication Required",
                HeaderName::ProxyAuthenticate,
            ),
        };
        let mut r = respond(req, code, reason);
        for value in self.auth.challenge(REALM, now(), stale) {
            r.headers.push(header.clone(), value);
        }
        r
    }

    fn register(&mut self, req: &Message, user: &str, from: Source) -> Message {
        if let Some(code) = self.behavior.register_status {
            return respond(req, code, "Configured");
        }
        let requested = req.expires().unwrap().unwrap_or(3600);
        let contacts = req.contacts().unwrap();
        let Some(Contact::Addresses(list)) = contacts.first() else {
            return respond(req, 400, "No Contact");
        };
        let contact = list[0].uri.to_string();
        let requested = contact_expires(&list[0]).unwrap().unwrap_or(requested);
        if requested != 0 && requested < self.behavior.min_expires {
            let mut r = respond(req, 423, "Interval Too Brief");
            r.headers.push(
                HeaderName::MinExpires,
                self.behavior.min_expires.to_string(),
            );
            return r;
        }
        let mut state = self.state.lock().unwrap();
        let mut r = respond(req, 200, "OK");
        if requested == 0 {
            state.bindings.remove(user);
            return r;
        }
        let expires = requested.min(self.behavior.max_expires);
        state.bindings.insert(
            user.to_owned(),
            Binding {
                contact: contact.clone(),
                expires,
                source: from,
            },
        );
        r.headers.push(
            HeaderName::Contact,
            format!("<{contact}>;expires={expires}"),
        );
        r
    }
}

fn respond(req: &Message, code: u16, reason: &str) -> Message {
    let mut r = req.response(code, reason, Some("fake"));
    r.headers.remove_all(&HeaderName::ContentLength);
    r.set_content_length();
    r
}
