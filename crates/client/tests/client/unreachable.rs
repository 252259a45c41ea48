//! The server is not there. Nothing listening on its port: the agent says "server
//! unreachable: … connection refused" at once. A server that swallows requests: "no
//! response … within N s" once the transaction times out. With a second server listed (as
//! RFC 3263 lookups give), the agent moves on to it and registers there (§4.3).

use crate::fake_server::{Behavior, FakeServer};
use crate::harness::{config, udp};
use parley_client::{ClientError, UserAgent};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

#[tokio::test]
async fn nothing_listening() {
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let started = Instant::now();
    let error = UserAgent::start(config("alice@example.test", "secret", vec![udp(addr)]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn no_answer_then_the_next_server() {
    // Bound and never read: requests vanish.
    let black_hole = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let hole = udp(black_hole.local_addr().unwrap());
    let ua = UserAgent::start(config("alice@example.test", "secret", vec![hole]))
        .await
        .unwrap();
    let error = ua.register(60).await.unwrap_err();
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("no response from UDP"),
        "{error}"
    );

    let server = FakeServer::start(Behavior::default()).await;
    let ua = UserAgent::start(config(
        "alice@example.test",
        "secret",
        vec![hole, udp(server.addr)],
    ))
    .await
    .unwrap();
    let registration = ua.register(60).await.unwrap();
    assert_eq!(registration.server, udp(server.addr));
    assert_eq!(ua.server(), udp(server.addr));
}
