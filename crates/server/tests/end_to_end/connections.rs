//! Stream connections are kept in bounds: a CRLFCRLF keep-alive ping gets its CRLF pong
//! (RFC 5626 §3.5.1) and the connection stays usable, an idle connection is closed after the
//! configured time, and connections beyond the per-IP limit are closed at once.

use crate::harness::{request, Received, Setup, StreamClient, TestServer, ANSWER};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_keepalive_ping_gets_a_pong() {
    let server = TestServer::start(Setup::default()).await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    for _ in 0..2 {
        client.io.write_all(b"\r\n\r\n").await.unwrap();
        let mut pong = [0u8; 2];
        tokio::time::timeout(ANSWER, client.io.read_exact(&mut pong))
            .await
            .expect("a pong in time")
            .unwrap();
        assert_eq!(&pong, b"\r\n");
    }
    let local = client.io.local_addr().unwrap();
    let r = client
        .request(&request("OPTIONS", &server.uri(), "TCP", local, ""))
        .await;
    assert_eq!(r.status(), Some(200));
    server.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let server = TestServer::start(Setup {
        idle_timeout: Duration::from_secs(1),
        ..Setup::default()
    })
    .await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    let r = client
        .request(&request("OPTIONS", &server.uri(), "TCP", local, ""))
        .await;
    assert_eq!(r.status(), Some(200));
    let quiet_since = Instant::now();
    assert!(matches!(client.recv(ANSWER).await, Received::Closed));
    let idle = quiet_since.elapsed();
    assert!(idle >= Duration::from_millis(900), "closed after {idle:?}");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_per_ip_limit_are_closed() {
    let server = TestServer::start(Setup {
        max_connections_per_ip: 2,
        ..Setup::default()
    })
    .await;
    let mut first = StreamClient::tcp(server.tcp()).await;
    let mut second = StreamClient::tcp(server.tcp()).await;
    for client in [&mut first, &mut second] {
        let local = client.io.local_addr().unwrap();
        let r = client
            .request(&request("OPTIONS", &server.uri(), "TCP", local, ""))
            .await;
        assert_eq!(r.status(), Some(200));
    }
    let mut third = StreamClient::tcp(server.tcp()).await;
    assert!(matches!(third.recv(ANSWER).await, Received::Closed));

    drop(first);
    // The server notices the close asynchronously; retry briefly.
    let deadline = Instant::now() + ANSWER;
    loop {
        let mut again = StreamClient::tcp(server.tcp()).await;
        let local = again.io.local_addr().unwrap();
        again
            .send(request("OPTIONS", &server.uri(), "TCP", local, "").as_bytes())
            .await;
        match again.recv(ANSWER).await {
            Received::Message(r) => {
                assert_eq!(r.status(), Some(200));
                break;
            }
            _ if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("a freed slot is not reused: {other:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_open_connections() {
    let server = TestServer::start(Setup::default()).await;
    let mut client = StreamClient::tcp(server.tcp()).await;
    let local = client.io.local_addr().unwrap();
    let r = client
        .request(&request("OPTIONS", &server.uri(), "TCP", local, ""))
        .await;
    assert_eq!(r.status(), Some(200));
    server.stop().await;
    assert!(matches!(client.recv(ANSWER).await, Received::Closed));
}
