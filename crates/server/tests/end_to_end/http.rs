//! An operator checks the HTTP listener: `/healthz` says ok and `/metrics` has the Prometheus
//! series (`parley_up 1`, requests by method, responses by class, connections open).

use crate::harness::{request, Setup, TestServer, UdpClient};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[tokio::test]
async fn health_and_metrics() {
    let server = TestServer::start(Setup::default()).await;
    let (status, body) = get(server.addrs.http, "/healthz").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "ok");

    let client = UdpClient::bind(server.udp()).await;
    let text = request("OPTIONS", &server.uri(), "UDP", client.addr(), "");
    assert!(client.request(&text).await.is_some());

    let (status, body) = get(server.addrs.http, "/metrics").await;
    assert!(status.contains("200"), "{status}");
    for series in [
        "parley_up 1",
        "parley_sip_requests_total{method=\"OPTIONS\"}",
        "parley_sip_responses_sent_total{class=\"2xx\"}",
        "parley_connections_open",
    ] {
        assert!(body.contains(series), "no {series} in\n{body}");
    }
    let (status, _) = get(server.addrs.http, "/nothing-here").await;
    assert!(status.contains("404"), "{status}");
    server.stop().await;
}
