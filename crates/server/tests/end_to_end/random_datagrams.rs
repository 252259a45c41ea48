//! 100,000 random and mutated datagrams do not stop the server. The inputs come from a
//! seeded generator (the same every run): mutations of the RFC 4475 messages and of a valid
//! OPTIONS (bytes replaced, inserted, lines dropped or repeated, truncations, splices), and
//! plain random bytes. They are sent in batches without waiting for answers; after each
//! batch an OPTIONS from another socket must get its 200, which also paces the sender to the
//! server. `PARLEY_FUZZ_DATAGRAMS` changes the count.

use crate::harness::{request, Setup, TestServer, UdpClient};
use parley_test_support::fixtures::rfc4475;
use std::net::SocketAddr;

const DEFAULT_COUNT: usize = 100_000;
const BATCH: usize = 250;

/// splitmix64: small, fast, and the same sequence on every machine. Its casts truncate on
/// purpose: any bits of a random number are random.
struct Rng(u64);

#[allow(clippy::cast_possible_truncation)]
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        // Bias towards the characters SIP's grammar cares about.
        const INTERESTING: &[u8] = b"\r\n :;,<>\"@=%/\\\t0123456789";
        if self.below(3) == 0 {
            INTERESTING[self.below(INTERESTING.len())]
        } else {
            self.next() as u8
        }
    }
}

/// Where in a seed the top Via's sent-by sits: mutations leave it alone so that answers go
/// to the test's sink socket and not to the addresses a mutation would invent.
struct Seed {
    bytes: Vec<u8>,
    protected: std::ops::Range<usize>,
}

fn seeds(sink: SocketAddr, server: SocketAddr) -> Vec<Seed> {
    let via = format!("Via: SIP/2.0/UDP {sink};rport;branch=z9hG4bK-fuzz\r\n");
    let mut texts: Vec<Vec<u8>> = rfc4475()
        .into_iter()
        .map(|m| {
            let end = m.bytes.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
            let mut out = m.bytes[..end + 2].to_vec();
            out.extend_from_slice(via.as_bytes());
            out.extend_from_slice(&m.bytes[end + 2..]);
            out
        })
        .collect();
    let options = request("OPTIONS", &format!("sip:{server}"), "UDP", sink, "")
        .replace(&format!("Via: SIP/2.0/UDP {sink}"), &via[..via.len() - 2]);
    texts.push(options.into_bytes());
    texts
        .into_iter()
        .map(|bytes| {
            let start = find(&bytes, via.as_bytes()).unwrap_or(0);
            Seed {
                protected: start..start + via.len(),
                bytes,
            }
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn mutate(rng: &mut Rng, seeds: &[Seed]) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())];
    let mut out = seed.bytes.clone();
    let free = |i: usize| !seed.protected.contains(&i);
    match rng.below(8) {
        // Random bytes.
        0 => (0..rng.below(1500))
            .map(|_| rng.next().to_le_bytes()[0])
            .collect(),
        // Replace a few bytes.
        1 | 2 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                if free(i) {
                    out[i] = rng.byte();
                }
            }
            out
        }
        // Insert bytes.
        3 => {
            let i = rng.below(out.len());
            if free(i) && i > seed.protected.start {
                for _ in 0..1 + rng.below(16) {
                    out.insert(i, rng.byte());
                }
            }
            out
        }
        // Truncate.
        4 => {
            out.truncate(rng.below(out.len()));
            out
        }
        // Drop or repeat a line.
        5 => {
            let lines: Vec<&[u8]> = seed.bytes.split_inclusive(|&b| b == b'\n').collect();
            let pick = 1 + rng.below(lines.len().saturating_sub(1));
            let repeat = rng.below(2) == 0;
            let mut out = Vec::with_capacity(seed.bytes.len() + 200);
            for (n, line) in lines.iter().enumerate() {
                if n != pick || repeat {
                    out.extend_from_slice(line);
                }
                if n == pick && repeat {
                    out.extend_from_slice(line);
                }
            }
            out
        }
        // Splice the head of one message onto the tail of another.
        6 => {
            let other = &seeds[rng.below(seeds.len())].bytes;
            let cut = seed.protected.end + rng.below(out.len() - seed.protected.end + 1);
            out.truncate(cut);
            out.extend_from_slice(&other[rng.below(other.len())..]);
            out
        }
        // Content-Length lies.
        _ => {
            let text = String::from_utf8_lossy(&out).into_owned();
            let lie = ["-1", "99999999999999999999", "70000", "0", " 5 5", "x"][rng.below(6)];
            text.replacen("Content-Length: 0", &format!("Content-Length: {lie}"), 1)
                .into_bytes()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_random_datagrams() {
    let count = std::env::var("PARLEY_FUZZ_DATAGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_COUNT);
    let server = TestServer::start(Setup {
        domains: vec!["example.com".into(), "example.net".into()],
        ..Setup::default()
    })
    .await;
    let fuzzer = UdpClient::bind(server.udp()).await;
    let probe = UdpClient::bind(server.udp()).await;
    let seeds = seeds(fuzzer.addr(), server.udp());
    let mut rng = Rng(0x7061_726c_6579);
    let mut sent = 0;
    while sent < count {
        for _ in 0..BATCH.min(count - sent) {
            let datagram = mutate(&mut rng, &seeds);
            // Datagrams the kernel refuses (empty, too large) are simply not sent.
            if !datagram.is_empty() && datagram.len() < 65_000 {
                let _ = fuzzer.socket.send_to(&datagram, server.udp()).await;
            }
            sent += 1;
        }
        let text = request("OPTIONS", &server.uri(), "UDP", probe.addr(), "");
        let answer = probe.request(&text).await;
        let answer = answer.unwrap_or_else(|| panic!("no answer after {sent} datagrams"));
        assert_eq!(answer.status(), Some(200));
        // Answers to the mutated messages pile up at the sink; empty it now and then.
        let mut buf = vec![0u8; 65_536];
        while let Ok(Ok(_)) =
            tokio::time::timeout(std::time::Duration::ZERO, fuzzer.socket.recv_from(&mut buf)).await
        {
        }
    }
    server.assert_alive().await;
    server.stop().await;
}
