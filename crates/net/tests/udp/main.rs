//! The UDP path over real loopback sockets: bursts of requests, read and answered in batches,
//! each answer leaving from the socket its request arrived on, to the address it came from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_net::{EndpointCommands, EndpointDriver, ListenerSet, NetConfig, TransactionUser};
use parley_sip::{EndpointConfig, Event, Transport};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Guards against a hang only: a missing answer fails the test instead of blocking it.
const GIVE_UP: Duration = Duration::from_secs(20);

/// Answers every request with 200.
struct Answerer;

impl TransactionUser for Answerer {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>) {
        if let Event::Request {
            tx: Some(tx),
            request,
            ..
        } = event
        {
            endpoint
                .respond(tx, request.response(200, "OK", Some("answerer")))
                .unwrap();
        }
    }
}

/// Starts a driver on `count` UDP sockets of 127.0.0.1; their addresses, and the sender
/// that stops it.
async fn serve(count: usize) -> (Vec<SocketAddr>, oneshot::Sender<()>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listeners = ListenerSet::bind(&vec![any; count], &[]).await.unwrap();
    let udp: Vec<SocketAddr> = listeners
        .local_addrs()
        .into_iter()
        .filter(|(t, _)| *t == Transport::Udp)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(udp.len(), count);
    let driver = EndpointDriver::new(listeners, EndpointConfig::default(), NetConfig::default());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(driver.run(Answerer, async {
        let _ = stopped.await;
    }));
    (udp, stop)
}

/// A client socket on 127.0.0.1 whose receive buffer holds every answer of a test: answers
/// arrive faster than a test reads them, and what overflows the buffer is lost.
fn client_socket() -> UdpSocket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    socket.set_recv_buffer_size(4 << 20).unwrap();
    socket.set_nonblocking(true).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    UdpSocket::from_std(socket.into()).unwrap()
}

fn options(client: SocketAddr, server: SocketAddr, call_id: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {client};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@example.test>;tag=t1\r\n\
         To: <sip:{server}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .split("\r\n")
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {message}"))
}

/// Receives `count` answers on `socket`: their Call-IDs, each checked to be a 200 from
/// `server`.
async fn answers(socket: &UdpSocket, server: SocketAddr, count: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut buf = vec![0u8; 65_536];
    while seen.len() < count {
        let (len, from) = tokio::time::timeout(GIVE_UP, socket.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} answers", seen.len()))
            .unwrap();
        assert_eq!(from, server, "the answer left from another socket");
        let text = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(text.starts_with("SIP/2.0 200 "), "{text}");
        assert!(
            seen.insert(header(text, "Call-ID").to_owned()),
            "answered twice: {text}"
        );
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_requests_is_answered_in_full() {
    let (servers, _stop) = serve(1).await;
    let server = servers[0];
    let client = std::sync::Arc::new(client_socket());
    let me = client.local_addr().unwrap();
    // More than one batch, sent as fast as the client can, so that the server finds many
    // datagrams waiting at once and answers them together. The answers are read meanwhile:
    // the client's own receive buffer would overflow otherwise.
    let count = 500;
    let reader = {
        let client = std::sync::Arc::clone(&client);
        tokio::spawn(async move { answers(&client, server, count).await })
    };
    let mut sent = BTreeSet::new();
    for n in 0..count {
        let call_id = format!("burst-{n}");
        client
            .send_to(&options(me, server, &call_id), server)
            .await
            .unwrap();
        sent.insert(call_id);
    }
    assert_eq!(reader.await.unwrap(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_leaves_from_the_socket_its_request_reached_to_its_sender() {
    let (servers, _stop) = serve(2).await;
    assert_ne!(servers[0], servers[1]);
    // Four clients, two per server socket, their requests interleaved so that every batch the
    // server reads mixes senders.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(client_socket());
    }
    let per_client = 60;
    let mut sent = vec![BTreeSet::new(); clients.len()];
    for n in 0..per_client {
        for (i, client) in clients.iter().enumerate() {
            let server = servers[i % 2];
            let call_id = format!("client{i}-{n}");
            let me = client.local_addr().unwrap();
            client
                .send_to(&options(me, server, &call_id), server)
                .await
                .unwrap();
            sent[i].insert(call_id);
        }
    }
    for (i, client) in clients.iter().enumerate() {
        // Only this client's own requests come back to it, all from the socket it used.
        assert_eq!(answers(client, servers[i % 2], per_client).await, sent[i]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alives_in_a_batch_are_dropped_and_the_requests_around_them_answered() {
    let (servers, _stop) = serve(1).await;
    let server = servers[0];
    let client = client_socket();
    let me = client.local_addr().unwrap();
    let mut sent = BTreeSet::new();
    for n in 0..40 {
        client.send_to(b"\r\n\r\n", server).await.unwrap();
        let call_id = format!("around-{n}");
        client
            .send_to(&options(me, server, &call_id), server)
            .await
            .unwrap();
        sent.insert(call_id);
    }
    assert_eq!(answers(&client, server, sent.len()).await, sent);
}
