//! A minimal SIP user agent over a plain UDP socket or TCP connection: enough to register
//! with digest authentication, send MESSAGEs, and receive and answer requests, the way a
//! phone does.

use crate::harness::{parse, unique, Received, StreamClient, TestServer, ANSWER};
use parley_sip::auth::client::{authorization, ClientRequest};
use parley_sip::header::AuthParams;
use parley_sip::{HeaderName, Message};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpStream, UdpSocket};

/// How a phone reaches the server.
enum Link {
    Udp {
        socket: UdpSocket,
        server: SocketAddr,
    },
    Tcp(StreamClient<TcpStream>),
}

/// Which challenge a phone answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Md5,
}

pub struct Phone {
    pub user: String,
    pub domain: String,
    pub password: String,
    pub algorithm: Algorithm,
    link: Link,
    /// Call-ID of this phone's registrations (a phone keeps one, RFC 3261 §10.2).
    register_call_id: String,
    cseq: u32,
    nc: u32,
    /// Requests that arrived while the phone waited for a response.
    inbox: VecDeque<Message>,
    /// The Contact URI to use instead of the phone's address.
    contact: Option<String>,
}

impl Phone {
    pub async fn udp(server: &TestServer, address: &str, password: &str) -> Phone {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Phone::new(
            Link::Udp {
                socket,
                server: server.udp(),
            },
            address,
            password,
        )
    }

    pub async fn tcp(server: &TestServer, address: &str, password: &str) -> Phone {
        Phone::new(
            Link::Tcp(StreamClient::tcp(server.tcp()).await),
            address,
            password,
        )
    }

    fn new(link: Link, address: &str, password: &str) -> Phone {
        let (user, domain) = address.split_once('@').unwrap();
        Phone {
            user: user.into(),
            domain: domain.into(),
            password: password.into(),
            algorithm: Algorithm::Sha256,
            link,
            register_call_id: format!("reg-{}@phone", unique()),
            cseq: 0,
            nc: 0,
            inbox: VecDeque::new(),
            contact: None,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        match &self.link {
            Link::Udp { socket, .. } => socket.local_addr().unwrap(),
            Link::Tcp(c) => c.io.local_addr().unwrap(),
        }
    }

    pub fn transport(&self) -> &'static str {
        match self.link {
            Link::Udp { .. } => "UDP",
            Link::Tcp(_) => "TCP",
        }
    }

    /// Puts `uri` in the Contact of this phone's requests from now on.
    pub fn set_contact(&mut self, uri: &str) {
        self.contact = Some(uri.to_owned());
    }

    /// Drops this phone's TCP connection and opens a new one to `server`.
    pub async fn reconnect_tcp(&mut self, server: &TestServer) {
        self.link = Link::Tcp(StreamClient::tcp(server.tcp()).await);
    }

    /// The contact URI of this phone.
    pub fn contact(&self) -> String {
        if let Some(uri) = &self.contact {
            return uri.clone();
        }
        match self.link {
            Link::Udp { .. } => format!("sip:{}@{}", self.user, self.local_addr()),
            Link::Tcp(_) => format!("sip:{}@{};transport=tcp", self.user, self.local_addr()),
        }
    }

    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    pub async fn send(&mut self, text: &str) {
        match &mut self.link {
            Link::Udp { socket, server } => {
                socket.send_to(text.as_bytes(), *server).await.unwrap();
            }
            Link::Tcp(c) => c.send(text.as_bytes()).await,
        }
    }

    /// The next message from the server within `wait`, request or response.
    pub async fn recv_any(&mut self, wait: Duration) -> Option<Message> {
        match &mut self.link {
            Link::Udp { socket, .. } => {
                let mut buf = vec![0u8; 65_536];
                match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
                    Ok(Ok((n, _))) => Some(parse(&buf[..n])),
                    Ok(Err(e)) => panic!("udp receive: {e}"),
                    Err(_) => None,
                }
            }
            Link::Tcp(c) => match c.recv(wait).await {
                Received::Message(m) => Some(m),
                Received::Closed | Received::Nothing => None,
            },
        }
    }

    /// Sends a request and returns its final response; provisional responses are skipped and
    /// requests arriving meanwhile are kept for [`Phone::next_request`].
    pub async fn transact(&mut self, text: &str) -> Message {
        let sent = parse(text.as_bytes());
        let call_id = sent.call_id().unwrap().to_owned();
        let cseq = sent.cseq().unwrap();
        self.send(text).await;
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(m) = self.recv_any(left).await else {
                panic!("no final response to {}", sent.method().unwrap());
            };
            if m.is_request() {
                self.inbox.push_back(m);
                continue;
            }
            // Retransmissions of an earlier transaction's final response are skipped.
            if m.call_id().ok() == Some(call_id.as_str())
                && m.cseq().ok().as_ref() == Some(&cseq)
                && m.status().unwrap() >= 200
            {
                return m;
            }
        }
    }

    /// The next request sent to this phone within `wait`.
    pub async fn next_request(&mut self, wait: Duration) -> Option<Message> {
        if let Some(m) = self.inbox.pop_front() {
            return Some(m);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self.recv_any(left).await?;
            if m.is_request() {
                return Some(m);
            }
        }
    }

    /// Answers a request received with `code`.
    pub async fn answer(&mut self, request: &Message, code: u16) {
        let mut r = request.response(code, "Answer", Some("phone-tag"));
        r.set_content_length();
        let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        self.send(&text).await;
    }

    fn next_cseq(&mut self) -> u32 {
        self.cseq += 1;
        self.cseq
    }

    /// A REGISTER of this phone's contact (or `contact` when given) for `expires` seconds.
    pub fn register_text(
        &mut self,
        contact: Option<&str>,
        expires: Option<u32>,
        authorization: Option<&str>,
    ) -> String {
        let cseq = self.next_cseq();
        let contact = contact.map_or_else(|| format!("<{}>", self.contact()), str::to_owned);
        let expires = expires.map_or(String::new(), |e| format!("Expires: {e}\r\n"));
        let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/{t} {addr};branch=z9hG4bK-ph{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag=ph{n}\r\n\
             To: <{aor}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: {contact}\r\n\
             {expires}{auth}\
             Content-Length: 0\r\n\r\n",
            domain = self.domain,
            t = self.transport(),
            addr = self.local_addr(),
            n = unique(),
            aor = self.aor(),
            call_id = self.register_call_id,
        )
    }

    /// One REGISTER transaction ([`Phone::register_text`]); its final response.
    pub async fn register_once(
        &mut self,
        contact: Option<&str>,
        expires: Option<u32>,
        authorization: Option<&str>,
    ) -> Message {
        let text = self.register_text(contact, expires, authorization);
        self.transact(&text).await
    }

    /// The credentials answering the challenge of `response` for `method` and `uri`.
    pub fn credentials(&mut self, response: &Message, method: &str, uri: &str) -> String {
        let name = match response.status() {
            Some(407) => HeaderName::ProxyAuthenticate,
            _ => HeaderName::WwwAuthenticate,
        };
        let challenges = response.auth_params(&name).unwrap();
        let wanted = match self.algorithm {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        };
        let challenge: &AuthParams<'_> = challenges
            .iter()
            .find(|c| {
                c.params
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case("algorithm") && *v == wanted)
            })
            .unwrap_or_else(|| panic!("no {wanted} challenge in {response:?}"));
        self.nc += 1;
        authorization(
            challenge,
            &ClientRequest {
                username: &self.user,
                password: &self.password,
                method,
                uri,
                cnonce: &format!("cn{}", unique()),
                nc: self.nc,
            },
        )
        .unwrap()
    }

    /// Registers (answering the 401) with `contact` or this phone's own; the final response.
    pub async fn register_contact(
        &mut self,
        contact: Option<&str>,
        expires: Option<u32>,
    ) -> Message {
        let text = self.register_text(contact, expires, None);
        let first = self.transact(&text).await;
        if first.status() != Some(401) {
            return first;
        }
        let creds = self.credentials(&first, "REGISTER", &format!("sip:{}", self.domain));
        let text = self.register_text(contact, expires, Some(&creds));
        self.transact(&text).await
    }

    /// Registers this phone's contact for `expires` seconds (the server's default if `None`).
    pub async fn register(&mut self, expires: Option<u32>) -> Message {
        self.register_contact(None, expires).await
    }

    /// A MESSAGE to `to` (an address) with a text body.
    pub fn message_text(&mut self, to: &str, body: &str, credentials: Option<&str>) -> String {
        let cseq = self.next_cseq();
        let auth = credentials.map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
        format!(
            "MESSAGE sip:{to} SIP/2.0\r\n\
             Via: SIP/2.0/{t} {addr};branch=z9hG4bK-ph{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"{user}\" <{aor}>;tag=ph{n}\r\n\
             To: <sip:{to}>\r\n\
             Call-ID: msg-{n}@phone\r\n\
             CSeq: {cseq} MESSAGE\r\n\
             {auth}\
             Content-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            t = self.transport(),
            addr = self.local_addr(),
            n = unique(),
            user = self.user,
            aor = self.aor(),
            len = body.len(),
        )
    }

    /// Sends a MESSAGE, answering the 407; the final response.
    pub async fn message(&mut self, to: &str, body: &str) -> Message {
        let text = self.message_text(to, body, None);
        let first = self.transact(&text).await;
        if first.status() != Some(407) {
            return first;
        }
        let creds = self.credentials(&first, "MESSAGE", &format!("sip:{to}"));
        let text = self.message_text(to, body, Some(&creds));
        self.transact(&text).await
    }
}

impl Phone {
    /// A request of this phone for `uri` (`sip:` omitted) with extra header lines (each ending
    /// in CRLF), a body and optional proxy credentials.
    pub fn request_text(
        &mut self,
        method: &str,
        to: &str,
        headers: &str,
        body: &str,
        credentials: Option<&str>,
    ) -> String {
        let cseq = self.next_cseq();
        let auth = credentials.map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
        format!(
            "{method} sip:{to} SIP/2.0\r\n\
             Via: SIP/2.0/{t} {addr};branch=z9hG4bK-ph{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag=ph{n}\r\n\
             To: <sip:{to}>\r\n\
             Call-ID: {lower}-{n}@phone\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <{contact}>\r\n\
             {auth}{headers}\
             Content-Length: {len}\r\n\r\n{body}",
            t = self.transport(),
            addr = self.local_addr(),
            n = unique(),
            aor = self.aor(),
            lower = method.to_ascii_lowercase(),
            contact = self.contact(),
            len = body.len(),
        )
    }

    /// Sends a request out of dialog, answering a 407; the final response.
    pub async fn request(&mut self, method: &str, to: &str, headers: &str, body: &str) -> Message {
        let text = self.request_text(method, to, headers, body, None);
        let first = self.transact(&text).await;
        if first.status() != Some(407) {
            return first;
        }
        let creds = self.credentials(&first, method, &format!("sip:{to}"));
        let text = self.request_text(method, to, headers, body, Some(&creds));
        self.transact(&text).await
    }
}
