//! Bad input never silences or stops the server: a malformed request that can be answered
//! gets 400 with a reason phrase saying what is wrong (505 for another SIP version), an
//! oversize stream message gets 513 or its connection closed, and what cannot be answered is
//! dropped. The server answers OPTIONS afterwards.

use crate::harness::{
    reason, request, Received, Setup, StreamClient, TestServer, UdpClient, ANSWER, SILENCE,
};

#[tokio::test]
async fn a_malformed_datagram_is_told_what_is_wrong() {
    let server = TestServer::start(Setup::default()).await;
    let client = UdpClient::bind(server.udp()).await;

    let valid = request("OPTIONS", &server.uri(), "UDP", client.addr(), "");
    let no_call_id: String = valid
        .lines()
        .filter(|l| !l.starts_with("Call-ID"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let r = client.request(&no_call_id).await.expect("an answer");
    assert_eq!(r.status(), Some(400));
    assert!(reason(&r).contains("Call-ID"), "reason: {}", reason(&r));

    let bad_cseq = valid.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    let r = client.request(&bad_cseq).await.expect("an answer");
    assert_eq!(r.status(), Some(400));
    assert!(reason(&r).contains("CSeq"), "reason: {}", reason(&r));

    let other_version = valid.replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1);
    let r = client.request(&other_version).await.expect("an answer");
    assert_eq!(r.status(), Some(505));

    // Without a Via there is nowhere to answer.
    let no_via: String = valid
        .lines()
        .filter(|l| !l.starts_with("Via"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    client.send(no_via.as_bytes()).await;
    client.send(b"\x00\x01garbage\r\n\r\n").await;
    assert!(client.recv(SILENCE).await.is_none());
    server.assert_alive().await;
    server.stop().await;
}

#[tokio::test]
async fn an_oversize_stream_message_gets_513_or_its_connection_closed() {
    let server = TestServer::start(Setup::default()).await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    let text = request("OPTIONS", &server.uri(), "TCP", local, "")
        .replace("Content-Length: 0", "Content-Length: 70000");
    client.send(text.as_bytes()).await;
    match client.recv(ANSWER).await {
        Received::Message(r) => {
            assert_eq!(r.status(), Some(513));
            assert!(matches!(client.recv(ANSWER).await, Received::Closed));
        }
        Received::Closed => {}
        Received::Nothing => panic!("neither 513 nor close"),
    }
    server.assert_alive().await;
    server.stop().await;
}

#[tokio::test]
async fn a_stream_without_content_length_is_answered_and_closed() {
    let server = TestServer::start(Setup::default()).await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    let text: String = request("OPTIONS", &server.uri(), "TCP", local, "")
        .lines()
        .filter(|l| !l.starts_with("Content-Length"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    client.send(text.as_bytes()).await;
    match client.recv(ANSWER).await {
        Received::Message(r) => assert_eq!(r.status(), Some(400)),
        other => panic!("no 400: {other:?}"),
    }
    assert!(matches!(client.recv(ANSWER).await, Received::Closed));
    server.stop().await;
}
