//! The UDP path over real loopback sockets: bursts of requests, read and answered in batches,
//! each answer leaving from the socket its request arrived on, to the address it came from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_net::{EndpointCommands, EndpointDriver, ListenerSet, NetConfig, TransactionUser};
use parley_sip::{EndpointConfig, Event, HeaderName, Transport};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Guards against a hang only: a missing answer fails the test instead of blocking it.
const GIVE_UP: Duration = Duration::from_secs(20);

/// Answers every request with 200, or with 400 when the sender's address the server saw is
/// not the one the client wrote after the `@` of its Call-ID.
struct Answerer;

impl TransactionUser for Answerer {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>) {
        if let Event::Request {
            tx: Some(tx),
            request,
            from,
        } = event
        {
            let claimed = request
                .headers
                .get(&HeaderName::CallId)
                .and_then(|h| h.value_str())
                .and_then(|v| v.split_once('@'))
                .map(|(_, addr)| addr.to_owned());
            let (code, reason) = match claimed {
                Some(addr) if addr != from.remote.to_string() => (400, "Seen From Elsewhere"),
                _ => (200, "OK"),
            };
            endpoint
                .respond(tx, request.response(code, reason, Some("answerer")))
                .unwrap();
        }
    }
}

/// Starts a driver on `count` UDP sockets of 127.0.0.1; their addresses, and the sender
/// that stops it.
async fn serve(count: usize) -> (Vec<SocketAddr>, oneshot::Sender<()>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    serve_on(&vec![any; count]).await
}

/// Starts a driver on a UDP socket for each of `addrs`.
async fn serve_on(addrs: &[SocketAddr]) -> (Vec<SocketAddr>, oneshot::Sender<()>) {
    let count = addrs.len();
    let listeners = ListenerSet::bind(addrs, &[]).await.unwrap();
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
    client_socket_on("127.0.0.1:0".parse().unwrap())
}

fn client_socket_on(addr: SocketAddr) -> UdpSocket {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, None).unwrap();
    socket.set_recv_buffer_size(4 << 20).unwrap();
    socket.set_nonblocking(true).unwrap();
    socket.bind(&addr.into()).unwrap();
    UdpSocket::from_std(socket.into()).unwrap()
}

fn options(client: SocketAddr, server: SocketAddr, call_id: &str) -> Vec<u8> {
    let branch: String = call_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let client = match client {
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        SocketAddr::V4(v4) => v4.to_string(),
    };
    format!(
        "OPTIONS sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {client};branch=z9hG4bK-{branch};rport\r\n\
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
async fn ipv4_and_ipv6_senders_on_one_server_each_get_their_answers() {
    let v4: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    let (servers, _stop) = serve_on(&[v4, v6]).await;
    let clients = [client_socket_on(v4), client_socket_on(v6)];
    // Rounds of requests from both families, so that the server reads batches of each in
    // turn: a sender's address must come out whole whatever was read before it (the
    // Answerer checks it against the Call-ID; a reply to a mangled IPv6 loopback address
    // might still arrive, since Linux delivers datagrams sent to `::` locally).
    let per_client = 60;
    let mut sent = vec![BTreeSet::new(); clients.len()];
    for round in 0..3 {
        for (i, client) in clients.iter().enumerate() {
            let me = client.local_addr().unwrap();
            for n in 0..per_client / 3 {
                let call_id = format!("family{i}-{round}-{n}@{me}");
                client
                    .send_to(&options(me, servers[i], &call_id), servers[i])
                    .await
                    .unwrap();
                sent[i].insert(call_id);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(answers(client, servers[i], per_client).await, sent[i]);
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
