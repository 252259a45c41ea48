//! The simulation harness: a [`SimServer`], phones, and the network between them, driven
//! from one virtual instant to the next. Tokio's paused clock is the virtual clock: the
//! harness sleeps until the next timer or arrival, and tokio advances time only when every
//! task (and blocking store call) of the server is idle, so the server's work at an instant
//! is done before time moves on.

use parley_net::resolve::{DnsLookup, LookupError, NaptrRecord, SrvRecord};
use parley_server::clock::TokioClock;
use parley_server::simulation::{SimServer, SimSetup};
use parley_server::ServerConfig;
use parley_sip::auth::client::{authorization, ClientRequest};
use parley_sip::auth::Ha1s;
use parley_sip::header::AuthParams;
use parley_sip::{Destination, Endpoint, EndpointConfig, Event, HeaderName, Message, Transport};
use parley_store::{Address, Ha1Set, MemoryStore, Timestamp, User, UserStore};
use parley_test_support::messages::parse;
use parley_test_support::SimNetwork;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "example.test";
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 5060);
/// The wall-clock time the simulations start at (2026-01-01).
pub fn start() -> Timestamp {
    Timestamp::from_unix_millis(1_767_225_600_000)
}

/// Virtual now.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// No DNS: every target in these scenarios is an IP address.
struct NoDns;

impl DnsLookup for NoDns {
    async fn naptr(&self, _: &str) -> Result<Vec<NaptrRecord>, LookupError> {
        Ok(Vec::new())
    }
    async fn srv(&self, _: &str) -> Result<Vec<SrvRecord>, LookupError> {
        Ok(Vec::new())
    }
    async fn ip(&self, _: &str) -> Result<Vec<IpAddr>, LookupError> {
        Ok(Vec::new())
    }
}

/// A user agent: an endpoint whose core answers every request with the next code of
/// `answers` (200 when empty) and records what it sees.
pub struct Phone {
    pub user: String,
    pub password: String,
    pub addr: SocketAddr,
    pub endpoint: Endpoint,
    pub answers: VecDeque<u16>,
    /// Requests handed to the core, with when.
    pub requests: Vec<(Instant, Message)>,
    /// Final responses to the requests it sent.
    pub finals: Vec<Message>,
    cseq: u32,
    nc: u32,
    /// Receives nothing: whatever is sent to it is lost (a watcher that went away).
    pub deaf: bool,
}

impl Phone {
    fn on_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Request { tx, request, .. } => {
                if let Some(tx) = tx {
                    let code = self.answers.pop_front().unwrap_or(200);
                    let reason = if code < 300 { "OK" } else { "Server Error" };
                    let response = request.response(code, reason, Some("ph"));
                    self.endpoint.respond(now, tx, response).unwrap();
                }
                self.requests.push((now, request));
            }
            Event::Response { response, .. } if response.status().is_some_and(|s| s >= 200) => {
                self.finals.push(response);
            }
            _ => {}
        }
    }

    /// Starts a request to the server.
    pub fn send(&mut self, request: Message) {
        let destination = Destination::Address {
            transport: Transport::Udp,
            addr: SERVER,
        };
        self.endpoint
            .send_request(now(), request, destination, (Transport::Udp, self.addr))
            .unwrap();
    }

    /// A REGISTER of this phone's address, with `authorization` if given.
    pub fn register(&mut self, expires: u32, authorization: Option<&str>) -> Message {
        self.cseq += 1;
        let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let text = format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{u}@{DOMAIN}>;tag=r{u}\r\n\
             To: <sip:{u}@{DOMAIN}>\r\n\
             Call-ID: reg-{u}-{a}\r\n\
             CSeq: {c} REGISTER\r\n\
             Contact: <sip:{u}@{a}>\r\n\
             Expires: {expires}\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            u = self.user,
            c = self.cseq,
            a = self.addr,
        );
        parse(text.as_bytes())
    }

    /// A MESSAGE to `to` (a user of [`DOMAIN`]), with `authorization` if given.
    pub fn message(&mut self, to: &str, body: &str, proxy_auth: Option<&str>) -> Message {
        self.cseq += 1;
        let auth = proxy_auth.map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
        let text = format!(
            "MESSAGE sip:{to}@{DOMAIN} SIP/2.0\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{u}@{DOMAIN}>;tag=m{u}\r\n\
             To: <sip:{to}@{DOMAIN}>\r\n\
             Call-ID: msg-{u}-{c}\r\n\
             CSeq: {c} MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             {auth}Content-Length: {len}\r\n\r\n{body}",
            u = self.user,
            c = self.cseq,
            len = body.len(),
        );
        parse(text.as_bytes())
    }

    /// A request to `to` (a user of [`DOMAIN`]) outside a dialog, with extra header lines
    /// (each ending in CRLF), a body and proxy credentials if given.
    pub fn request(
        &mut self,
        method: &str,
        to: &str,
        headers: &str,
        body: &str,
        proxy_auth: Option<&str>,
    ) -> Message {
        self.cseq += 1;
        let auth = proxy_auth.map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
        let text = format!(
            "{method} sip:{to}@{DOMAIN} SIP/2.0\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{u}@{DOMAIN}>;tag={m}{u}{c}\r\n\
             To: <sip:{to}@{DOMAIN}>\r\n\
             Call-ID: {m}-{u}-{c}\r\n\
             CSeq: {c} {method}\r\n\
             Contact: <sip:{u}@{a}>\r\n\
             {headers}{auth}Content-Length: {len}\r\n\r\n{body}",
            u = self.user,
            c = self.cseq,
            a = self.addr,
            m = method.to_ascii_lowercase(),
            len = body.len(),
        );
        parse(text.as_bytes())
    }

    /// The NOTIFYs this phone received, in order.
    pub fn notifies(&self) -> Vec<(Instant, &Message)> {
        self.requests
            .iter()
            .filter(|(_, m)| m.method() == Some(&parley_sip::Method::Notify))
            .map(|(t, m)| (*t, m))
            .collect()
    }

    /// The credentials answering the challenge in `response` (401 or 407).
    pub fn credentials(&mut self, response: &Message, method: &str, uri: &str) -> String {
        let name = match response.status() {
            Some(407) => HeaderName::ProxyAuthenticate,
            _ => HeaderName::WwwAuthenticate,
        };
        let challenges = response.auth_params(&name).unwrap();
        let challenge: &AuthParams<'_> = challenges.first().unwrap();
        self.nc += 1;
        authorization(
            challenge,
            &ClientRequest {
                username: &self.user,
                password: &self.password,
                method,
                uri,
                cnonce: &format!("cn{}", self.nc),
                nc: self.nc,
            },
        )
        .unwrap()
    }
}

/// The server, the phones and the network.
pub struct Sim {
    pub net: SimNetwork,
    pub server: SimServer,
    pub phones: Vec<Phone>,
}

impl Sim {
    /// A server for [`DOMAIN`] with authentication on and `users` (name, password) in its
    /// store; `tune` adjusts the configuration.
    pub fn new(
        net: SimNetwork,
        users: &[(&str, &str)],
        tune: impl FnOnce(&mut ServerConfig),
    ) -> Sim {
        let mut config = ServerConfig {
            domains: vec![DOMAIN.to_owned()],
            ..ServerConfig::default()
        };
        config.auth.enabled = true;
        tune(&mut config);
        let store = Arc::new(MemoryStore::new());
        for (name, password) in users {
            let address = Address::parse(&format!("{name}@{DOMAIN}")).unwrap();
            let ha1 = Ha1s::compute(address.user(), address.domain(), password);
            let user = User {
                ha1: Ha1Set {
                    realm: DOMAIN.to_owned(),
                    md5: ha1.md5,
                    sha256: ha1.sha256,
                },
                address,
            };
            store.add_user(&user).unwrap();
        }
        let server = SimServer::start(SimSetup {
            config,
            listeners: vec![(Transport::Udp, SERVER)],
            store,
            clock: Arc::new(TokioClock::starting_at(start())),
            dns: Arc::new(NoDns),
            seed: 7,
            secret: b"simulation secret".to_vec(),
        });
        Sim {
            net,
            server,
            phones: Vec::new(),
        }
    }

    /// Adds a phone for `user` at 192.0.2.(10 + n):5060; returns its index.
    pub fn phone(&mut self, user: &str, password: &str) -> usize {
        let n = self.phones.len();
        let host = u8::try_from(10 + n).unwrap();
        self.phones.push(Phone {
            user: user.to_owned(),
            password: password.to_owned(),
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)), 5060),
            endpoint: Endpoint::new(EndpointConfig {
                seed: 100 + n as u64,
                ..EndpointConfig::default()
            }),
            answers: VecDeque::new(),
            requests: Vec::new(),
            finals: Vec::new(),
            cseq: 0,
            nc: 0,
            deaf: false,
        });
        n
    }

    /// Does everything due at the current instant, until nothing more happens.
    fn step(&mut self) {
        let now = now();
        for _ in 0..100_000 {
            let mut busy = false;
            let server = &mut self.server;
            if server.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                server.endpoint.handle_timeout(now);
                busy = true;
            }
            while let Some(command) = server.try_command() {
                server.apply(now, command);
                busy = true;
            }
            while let Some(t) = server.endpoint.poll_transmit() {
                self.net.send(now, SERVER, t);
                busy = true;
            }
            while let Some(e) = server.endpoint.poll_event() {
                server.handle_event(now, e);
                busy = true;
            }
            for phone in &mut self.phones {
                if phone.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                    phone.endpoint.handle_timeout(now);
                    busy = true;
                }
                while let Some(t) = phone.endpoint.poll_transmit() {
                    self.net.send(now, phone.addr, t);
                    busy = true;
                }
                while let Some(e) = phone.endpoint.poll_event() {
                    phone.on_event(now, e);
                    busy = true;
                }
            }
            while let Some(d) = self.net.poll_delivery(now) {
                busy = true;
                if d.to == SERVER {
                    self.server.endpoint.handle_message(now, d.from, d.data);
                } else if let Some(p) = self.phones.iter_mut().find(|p| p.addr == d.to && !p.deaf) {
                    p.endpoint.handle_message(now, d.from, d.data);
                }
            }
            if !busy {
                return;
            }
        }
        panic!("no quiescence: livelock");
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let phones = self.phones.iter().filter_map(|p| p.endpoint.poll_timeout());
        [
            self.net.next_delivery(),
            self.server.endpoint.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .chain(phones)
        .min()
    }

    /// Runs the simulation for `d` of virtual time.
    pub async fn run_for(&mut self, d: Duration) {
        let deadline = now() + d;
        loop {
            // Lets the server's tasks catch up with what happened at this instant.
            tokio::task::yield_now().await;
            self.step();
            let now = now();
            if now >= deadline {
                return;
            }
            let wake = self.next_wakeup().map_or(deadline, |t| t.min(deadline));
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
            tokio::select! {
                command = self.server.next_command() => {
                    if let Some(command) = command {
                        self.server.apply(now, command);
                    }
                }
                () = sleep => {}
            }
        }
    }

    /// Sends `request` from `phone` and runs until its final response (at most 64·T1);
    /// returns it.
    pub async fn transact(&mut self, phone: usize, request: Message) -> Message {
        let before = self.phones[phone].finals.len();
        self.phones[phone].send(request);
        for _ in 0..640 {
            self.run_for(Duration::from_millis(50)).await;
            if let Some(r) = self.phones[phone].finals.get(before) {
                return r.clone();
            }
        }
        panic!("no final response");
    }

    /// Registers `phone` for `expires` seconds, answering the 401.
    pub async fn register(&mut self, phone: usize, expires: u32) -> Message {
        let request = self.phones[phone].register(expires, None);
        let challenge = self.transact(phone, request).await;
        assert_eq!(challenge.status(), Some(401), "{challenge:?}");
        let p = &mut self.phones[phone];
        let credentials = p.credentials(&challenge, "REGISTER", &format!("sip:{DOMAIN}"));
        let request = p.register(expires, Some(&credentials));
        self.transact(phone, request).await
    }

    /// Sends a request from `phone` to `to` outside a dialog, answering the 407; the final
    /// response.
    pub async fn request(
        &mut self,
        phone: usize,
        method: &str,
        to: &str,
        headers: &str,
        body: &str,
    ) -> Message {
        let request = self.phones[phone].request(method, to, headers, body, None);
        let challenge = self.transact(phone, request).await;
        if challenge.status() != Some(407) {
            return challenge;
        }
        let p = &mut self.phones[phone];
        let credentials = p.credentials(&challenge, method, &format!("sip:{to}@{DOMAIN}"));
        let request = p.request(method, to, headers, body, Some(&credentials));
        self.transact(phone, request).await
    }

    /// Subscribes `phone` to the presence of `to` for `expires` seconds; the final response.
    pub async fn subscribe(&mut self, phone: usize, to: &str, expires: u32) -> Message {
        let headers = format!("Event: presence\r\nExpires: {expires}\r\n");
        self.request(phone, "SUBSCRIBE", to, &headers, "").await
    }

    /// Publishes an open PIDF with `note` for `phone`'s own address; the final response.
    pub async fn publish(&mut self, phone: usize, note: &str) -> Message {
        let me = self.phones[phone].user.clone();
        let body = format!(
            "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
             entity=\"sip:{me}@{DOMAIN}\"><tuple id=\"t\"><status><basic>open</basic></status>\
             <note>{note}</note></tuple></presence>"
        );
        let headers = "Event: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\n";
        self.request(phone, "PUBLISH", &me, headers, &body).await
    }

    /// Sends a MESSAGE from `phone` to `to`, answering the 407; the final response.
    pub async fn message(&mut self, phone: usize, to: &str, body: &str) -> Message {
        let request = self.phones[phone].message(to, body, None);
        let challenge = self.transact(phone, request).await;
        if challenge.status() != Some(407) {
            return challenge;
        }
        let p = &mut self.phones[phone];
        let credentials = p.credentials(&challenge, "MESSAGE", &format!("sip:{to}@{DOMAIN}"));
        let request = p.message(to, body, Some(&credentials));
        self.transact(phone, request).await
    }
}
