//! PIDF throughput on one core (issue 5): parsing the documents real clients publish, composing
//! three devices' publications into one document, and printing it for watchers.
//! Run: `cargo bench -p parley-presence --bench pidf`.

// Fixtures are checked-in documents known to parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parley_presence::{compose, Presence, Source};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const CLIENTS: [&str; 5] = [
    "pjsua-busy.xml",
    "baresip.xml",
    "linphone.xml",
    "blink.xml",
    "rfc4480-4.xml",
];

fn parse_and_print(c: &mut Criterion) {
    let mut group = c.benchmark_group("pidf");
    group.throughput(Throughput::Elements(1));
    for name in CLIENTS {
        let body = fixture(name);
        group.bench_with_input(BenchmarkId::new("parse", name), &body, |b, body| {
            b.iter(|| Presence::parse(body).map(|d| d.tuples.len()))
        });
        let doc = Presence::parse(&body).unwrap();
        group.bench_with_input(BenchmarkId::new("print", name), &doc, |b, doc| {
            b.iter(|| doc.to_xml())
        });
    }
    group.finish();
}

fn compose_three(c: &mut Criterion) {
    let bodies: Vec<Vec<u8>> = ["pjsua-busy.xml", "linphone.xml", "blink.xml"]
        .into_iter()
        .map(fixture)
        .collect();
    let mut group = c.benchmark_group("compose");
    group.throughput(Throughput::Elements(1));
    // What one PUBLISH costs the server: parse the new body, compose with the other devices'
    // stored documents, print the NOTIFY body.
    group.bench_function("parse+compose+print/3 devices", |b| {
        let stored: Vec<Presence> = bodies[..2]
            .iter()
            .map(|d| Presence::parse(d).unwrap())
            .collect();
        b.iter(|| {
            let new = Presence::parse(&bodies[2]).unwrap();
            let sources = [
                Source {
                    document: &stored[0],
                    modified_at: 1,
                    sequence: 1,
                },
                Source {
                    document: &stored[1],
                    modified_at: 2,
                    sequence: 2,
                },
                Source {
                    document: &new,
                    modified_at: 3,
                    sequence: 3,
                },
            ];
            compose("sip:alice@example.test", &sources).to_xml()
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_print, compose_three);
criterion_main!(benches);
