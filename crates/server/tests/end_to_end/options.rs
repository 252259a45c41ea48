//! A client asks the server what it can do: OPTIONS addressed to the server itself (RFC 3261
//! §11) over UDP, TCP and TLS, and to each of the names the server answers to. Asserted: a
//! 200 with Allow, Accept and Supported and no body, with the Via, From, To tag and Call-ID a
//! client needs to match it.

use crate::harness::{request, Setup, StreamClient, TestServer, UdpClient, ANSWER};
use parley_sip::{HeaderName, Message};

fn assert_capabilities(response: &Message) {
    assert_eq!(response.status(), Some(200), "{response:?}");
    let allow = response.tokens(&HeaderName::Allow).unwrap();
    assert!(allow.contains(&"OPTIONS"), "Allow: {allow:?}");
    assert!(response.headers.get(&HeaderName::Accept).is_some());
    assert!(response.headers.get(&HeaderName::Supported).is_some());
    assert!(response.to_header().unwrap().tag().is_some());
    assert!(response.body.is_empty());
}

#[tokio::test]
async fn over_udp() {
    let server = TestServer::start(Setup::default()).await;
    let client = UdpClient::bind(server.udp()).await;
    let text = request("OPTIONS", &server.uri(), "UDP", client.addr(), "");
    let response = client.request(&text).await.expect("an answer");
    assert_capabilities(&response);
    // RFC 3581 §4: rport is filled in with the source port.
    let via = response.top_via().unwrap();
    let port = client.addr().port().to_string();
    assert_eq!(via.rport(), Some(Some(port.as_str())));
    server.stop().await;
}

#[tokio::test]
async fn over_tcp() {
    let server = TestServer::start(Setup::default()).await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    for _ in 0..3 {
        let text = request(
            "OPTIONS",
            &format!("sip:{}", server.tcp()),
            "TCP",
            local,
            "",
        );
        assert_capabilities(&client.request(&text).await);
    }
    server.stop().await;
}

#[tokio::test]
async fn over_tls() {
    let server = TestServer::start(Setup {
        tls: true,
        ..Setup::default()
    })
    .await;
    let cert = server.cert_der.clone().unwrap();
    let mut client = StreamClient::tls(server.tls(), &cert).await;
    let local = client.io.get_ref().0.local_addr().unwrap();
    let text = request("OPTIONS", "sips:localhost", "TLS", local, "");
    assert_capabilities(&client.request(&text).await);
    server.stop().await;
}

#[tokio::test]
async fn to_every_name_of_the_server() {
    let server = TestServer::start(Setup {
        domains: vec!["localhost".into(), "Example.NET".into()],
        ..Setup::default()
    })
    .await;
    let client = UdpClient::bind(server.udp()).await;
    let port = server.udp().port();
    for uri in [
        "sip:localhost".to_owned(),
        "sip:example.net;transport=udp".to_owned(),
        "sip:127.0.0.1".to_owned(),
        format!("sip:127.0.0.1:{port}"),
        format!("sips:LOCALHOST:{port}"),
    ] {
        let text = request("OPTIONS", &uri, "UDP", client.addr(), "");
        let response = client.request(&text).await.expect("an answer");
        assert_capabilities(&response);
    }
    // The server still answers after a burst of requests from many sockets.
    for _ in 0..50 {
        let other = UdpClient::bind(server.udp()).await;
        let text = request("OPTIONS", "sip:localhost", "UDP", other.addr(), "");
        other.send(text.as_bytes()).await;
        assert!(other.recv(ANSWER).await.is_some());
    }
    server.stop().await;
}
