//! Every RFC 4475 torture message, sent to the running server over UDP and over TCP, gets the
//! treatment the RFC prescribes, and the server answers OPTIONS afterwards.
//!
//! Invalid requests get 400 (505 for another version); responses (the valid ones, and
//! bcast, bigcode, scalarlg) match no transaction and are dropped unanswered; unkscm and
//! novelsc get 416, bext01 420 with Unsupported, zeromf 483; insuf, multi01 and mcl01 get
//! 400. Valid requests get the server's ordinary answer with authentication on: 401 for
//! REGISTER, 407 for INVITEs from users of its domains, 404 for unknown users, 403 for a
//! preloaded Route to another host, 501 for methods it does not know. On TCP, a message whose framing is broken (no, negative, duplicate or
//! overlarge Content-Length) is answered and its connection closed, and clerr, whose body is
//! shorter than its Content-Length, waits for more bytes (RFC 4475 §3.1.2.2).
//!
//! The messages' Vias name hosts of the RFC's examples. Over UDP a top Via naming the test's
//! socket is added (to the messages that have a Via at all), so that answers come back to the
//! test; over TCP they come back on the connection anyway.

use crate::harness::{
    reason, unique, Received, Setup, StreamClient, TestServer, UdpClient, ANSWER, SILENCE,
};
use parley_sip::HeaderName;
use parley_test_support::fixtures::{rfc4475, Class, TortureMessage};
use std::net::SocketAddr;

/// What the server does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// This final status.
    Status(u16),
    /// This status, then the connection closes (streams only).
    StatusThenClose(u16),
    /// The connection closes, perhaps after this status (streams only): the answer is
    /// asynchronous and may lose the race with the close.
    MaybeStatusThenClose(u16),
    /// No answer (a response, or no Via to answer to).
    Silence,
}

/// Every domain the messages address, so that they count as local.
const DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "company.com",
    "chair-dnrc.example.com",
    "registrar.example.com",
    "jasomi.com",
];

fn expect_udp(m: &TortureMessage) -> Expect {
    use Expect::*;
    match m.name.as_str() {
        "badvers" => Status(505),
        "unkscm" | "novelsc" => Status(416),
        "bext01" => Status(420),
        "zeromf" => Status(483),
        "insuf" | "multi01" | "mcl01" => Status(400),
        "bcast" | "bigcode" | "scalarlg" | "unreason" | "noreason" => Silence,
        // No Via: nowhere to answer (RFC 3261 §18.2.2).
        "test" => Silence,
        // Extension methods the server does not know.
        "intmeth" | "esc02" => Status(501),
        // REGISTERs are challenged before anything else is looked at.
        "dblreq" | "regaut01" | "cparam01" | "cparam02" | "regescrt" => Status(401),
        // ... unless their To is no user of ours at all.
        "escnull" | "unksm2" => Status(404),
        // INVITEs from users of our domains must authenticate first.
        "longreq" | "invut" | "sdp01" => Status(407),
        // A preloaded Route to another host: we relay for nobody.
        "wsinv" | "mpart01" => Status(403),
        _ => match m.class {
            Class::Invalid => Status(400),
            // Requests to users of local domains: no user exists.
            _ => Status(404),
        },
    }
}

fn expect_tcp(m: &TortureMessage) -> Expect {
    use Expect::*;
    match m.name.as_str() {
        "inv2543" | "mcl01" | "ncl" => StatusThenClose(400),
        // The bytes after the second request break the framing, and the connection closes;
        // the registrar's answer to the first (401 over UDP) is usually not ready by then.
        "dblreq" => MaybeStatusThenClose(401),
        "clerr" => Silence,
        // baddn lacks the empty line that ends the header section: a datagram's end stands
        // for it, but a stream waits for the rest of the message.
        "baddn" => Silence,
        _ => expect_udp(m),
    }
}

/// Adds a top Via naming `sent_by` after the start line, if the message has a Via.
fn via_to(data: &[u8], sent_by: SocketAddr) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    let has_via = text.split("\r\n").skip(1).any(|line| {
        let name = line.split(':').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("via") || name.eq_ignore_ascii_case("v")
    });
    let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
        return data.to_vec();
    };
    if !has_via {
        return data.to_vec();
    }
    let via = format!(
        "Via: SIP/2.0/UDP {sent_by};branch=z9hG4bK-4475-{};rport\r\n",
        unique()
    );
    let mut out = data[..end + 2].to_vec();
    out.extend_from_slice(via.as_bytes());
    out.extend_from_slice(&data[end + 2..]);
    out
}

fn check_answer(name: &str, expected: u16, response: &parley_sip::Message) {
    assert_eq!(response.status(), Some(expected), "{name}: {response:?}");
    if expected == 400 {
        assert!(
            reason(response).len() > "Bad Request".len(),
            "{name}: reason says why"
        );
    }
    if name == "bext01" {
        let tags = response.tokens(&HeaderName::Unsupported).unwrap();
        for tag in ["nothingSupportsThis", "noProxiesSupportThis"] {
            assert!(tags.contains(&tag), "bext01 Unsupported: {tags:?}");
        }
    }
}

async fn setup() -> TestServer {
    TestServer::start(Setup {
        domains: DOMAINS.iter().map(|d| d.to_string()).collect(),
        // One connection per message; closed ones linger briefly for late answers.
        max_connections_per_ip: 1024,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn over_udp() {
    let messages = rfc4475();
    assert!(messages.len() >= 49, "all vectors present");
    let server = setup().await;
    for m in &messages {
        let client = UdpClient::bind(server.udp()).await;
        client.send(&via_to(&m.bytes, client.addr())).await;
        match expect_udp(m) {
            Expect::Status(code) => {
                let r = client.recv(ANSWER).await;
                let r = r.unwrap_or_else(|| panic!("{}: no answer", m.name));
                check_answer(&m.name, code, &r);
            }
            Expect::Silence => {
                if let Some(r) = client.recv(SILENCE).await {
                    panic!("{}: unexpected answer {r:?}", m.name);
                }
            }
            other => unreachable!("{other:?} on UDP"),
        }
    }
    server.assert_alive().await;
    server.stop().await;
}

#[tokio::test]
async fn over_tcp() {
    let server = setup().await;
    for m in &rfc4475() {
        let mut client = StreamClient::tcp(server.tcp()).await;
        client.send(&m.bytes).await;
        let expected = expect_tcp(m);
        let first = client
            .recv(match expected {
                Expect::Silence => SILENCE,
                _ => ANSWER,
            })
            .await;
        match (expected, first) {
            (Expect::Status(code), Received::Message(r)) => check_answer(&m.name, code, &r),
            (
                Expect::StatusThenClose(code) | Expect::MaybeStatusThenClose(code),
                Received::Message(r),
            ) => {
                check_answer(&m.name, code, &r);
                let next = client.recv(ANSWER).await;
                assert!(matches!(next, Received::Closed), "{}: {next:?}", m.name);
            }
            (Expect::MaybeStatusThenClose(_), Received::Closed) => {}
            (Expect::Silence, Received::Nothing) => {}
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", m.name),
        }
    }
    server.assert_alive().await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    let text = crate::harness::request("OPTIONS", "sip:example.com", "TCP", local, "");
    assert_eq!(client.request(&text).await.status(), Some(200));
    server.stop().await;
}
