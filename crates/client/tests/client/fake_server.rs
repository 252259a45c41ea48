//! A tiny registrar and message UAS on a plain tokio UDP socket, challenging with the real
//! digest code of `parley_sip::auth`: enough of a server to test the client against while
//! the real one is built elsewhere. It records every request it receives.

use bytes::Bytes;
use parley_sip::auth::{
    Authenticator, Credentials, Ha1s, NonceCounts, NonceKey, Outcome, RequestInfo,
};
use parley_sip::header::contact::contact_expires;
use parley_sip::header::Contact;
use parley_sip::{HeaderName, Limits, Message, Method, Uri};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
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

/// A binding the fake registrar holds.
#[derive(Debug, Clone)]
pub struct Binding {
    pub contact: String,
    pub expires: u32,
    pub source: SocketAddr,
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
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let mut core = Core {
            behavior,
            auth: Authenticator::new(NonceKey::new(b"fake secret", 42)),
            counts: NonceCounts::new(1024),
            state: Arc::clone(&state),
        };
        let rx = Arc::clone(&socket);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((len, from)) = rx.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(msg) =
                    Message::parse(Bytes::copy_from_slice(&buf[..len]), &Limits::default())
                else {
                    continue;
                };
                if msg.is_request() {
                    let response = core.handle(&msg, from);
                    let _ = rx.send_to(&response.to_bytes(), from).await;
                } else if let Ok(call_id) = msg.call_id() {
                    let waiter = core.state.lock().unwrap().waiting.remove(call_id);
                    if let Some(w) = waiter {
                        let _ = w.send(msg);
                    }
                }
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
        let call_id = format!("deliver-{}", now());
        let date = date.map(|d| format!("Date: {d}\r\n")).unwrap_or_default();
        let text = format!(
            "MESSAGE {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bK{call_id}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{from}>;tag=f1\r\nTo: <sip:{user}@{REALM}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\n{date}Content-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len(),
            contact = binding.contact,
            addr = self.addr,
        );
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().waiting.insert(call_id, tx);
        self.socket
            .send_to(text.as_bytes(), binding.source)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .unwrap()
            .unwrap()
    }
}

struct Core {
    behavior: Behavior,
    auth: Authenticator,
    counts: NonceCounts,
    state: Arc<Mutex<State>>,
}

impl Core {
    fn handle(&mut self, req: &Message, from: SocketAddr) -> Message {
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

    fn register(&mut self, req: &Message, user: &str, from: SocketAddr) -> Message {
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
