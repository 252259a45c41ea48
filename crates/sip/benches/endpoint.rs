//! The endpoint's work per transaction on the server's hot path, in transactions per second
//! on one core: a request arrives as bytes, is parsed and validated, opens a server
//! transaction, and its `200` is built, printed and handed out for sending; timers end the
//! transactions as virtual time passes. This is what every REGISTER and relayed MESSAGE
//! costs before any service sees it (issue 5: the whole REGISTER budget is 8 µs of CPU).
//! Run: `cargo bench -p parley-sip --bench endpoint`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parley_sip::{Endpoint, EndpointConfig, Event, Peer, Transport};
use std::time::{Duration, Instant};

/// A request with a fresh branch and Call-ID, as every new transaction has.
fn request(template: &str, n: u64) -> Bytes {
    Bytes::from(
        template
            .replace("BRANCH", &format!("z9hG4bK-bench-{n}"))
            .replace("CALLID", &format!("bench-{n}")),
    )
}

const REGISTER: &str = "REGISTER sip:example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=BRANCH\r\n\
Max-Forwards: 70\r\n\
From: <sip:u1@example.test>;tag=1r1\r\n\
To: <sip:u1@example.test>\r\n\
Call-ID: CALLID\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:u1@127.0.0.1:5061;transport=udp>\r\n\
Expires: 3600\r\n\
User-Agent: sipp-bench\r\n\
Content-Length: 0\r\n\r\n";

const MESSAGE: &str = "MESSAGE sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=BRANCH\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.test>;tag=1m1\r\n\
To: <sip:bob@example.test>\r\n\
Call-ID: CALLID\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain\r\n\
User-Agent: sipp-bench\r\n\
Content-Length: 37\r\n\r\n\
hello 1 from the sipp benchmark......";

fn server_transaction(c: &mut Criterion) {
    let peer = Peer {
        transport: Transport::Udp,
        remote: ([127, 0, 0, 1], 5061).into(),
        local: ([127, 0, 0, 1], 5060).into(),
        connection: None,
    };
    let mut group = c.benchmark_group("server transaction");
    group.throughput(Throughput::Elements(1));
    for (name, template) in [
        ("REGISTER in, 200 out", REGISTER),
        ("MESSAGE in, 200 out", MESSAGE),
    ] {
        // The requests are made before timing: building them is the client's work.
        let requests: Vec<Bytes> = (0..4096).map(|n| request(template, n)).collect();
        group.bench_function(name, |b| {
            let mut endpoint = Endpoint::new(EndpointConfig::default());
            let mut now = Instant::now();
            let mut n = 0usize;
            b.iter(|| {
                // 10 ms of virtual time per transaction: Timer J (64·T1) ends each one after
                // 3,200 more, so the table stays the size a busy server's has.
                now += Duration::from_millis(10);
                endpoint.handle_timeout(now);
                n += 1;
                endpoint.handle_message(now, peer, requests[n % requests.len()].clone());
                let mut sent = 0;
                while let Some(event) = endpoint.poll_event() {
                    if let Event::Request {
                        tx: Some(tx),
                        request,
                        ..
                    } = event
                    {
                        let ok = request.response(200, "OK", Some("bench"));
                        let _ = endpoint.respond(now, tx, ok);
                    }
                }
                while let Some(t) = endpoint.poll_transmit() {
                    sent += t.data.len();
                }
                sent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, server_transaction);
criterion_main!(benches);
