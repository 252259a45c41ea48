//! Parse + print throughput, in messages per second on one core: typical SIMPLE requests and
//! the RFC 4475 valid torture messages. Run: `cargo bench -p parley-sip --bench parse`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parley_sip::{Limits, Message};
use parley_test_support::fixtures::{self, Class};

fn typical(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("typical");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in [
        ("REGISTER", fixtures::REGISTER),
        ("MESSAGE", fixtures::MESSAGE),
        ("PUBLISH", fixtures::PUBLISH),
        ("NOTIFY", fixtures::NOTIFY),
    ] {
        let data = Bytes::from_static(bytes);
        group.bench_with_input(BenchmarkId::new("parse", name), &data, |b, data| {
            b.iter(|| Message::parse(data.clone(), &limits).map(|m| m.headers.len()))
        });
        if let Ok(parsed) = Message::parse(data.clone(), &limits) {
            group.bench_with_input(BenchmarkId::new("validate", name), &parsed, |b, m| {
                b.iter(|| m.validate())
            });
            group.bench_with_input(BenchmarkId::new("print", name), &parsed, |b, m| {
                b.iter(|| m.to_bytes())
            });
        }
        group.bench_with_input(
            BenchmarkId::new("parse+validate+print", name),
            &data,
            |b, data| {
                b.iter(|| {
                    let m = Message::parse(data.clone(), &limits).map_err(|r| r.error)?;
                    m.validate()?;
                    Ok::<_, parley_sip::ParseError>(m.to_bytes())
                })
            },
        );
    }
    group.finish();
}

fn torture(c: &mut Criterion) {
    let limits = Limits::default();
    let valid: Vec<Bytes> = fixtures::rfc4475()
        .into_iter()
        .filter(|m| m.class == Class::Valid)
        .map(|m| Bytes::from(m.bytes))
        .collect();
    let mut group = c.benchmark_group("rfc4475");
    group.throughput(Throughput::Elements(valid.len() as u64));
    group.bench_function("parse+validate+print all valid", |b| {
        b.iter(|| {
            valid
                .iter()
                .filter_map(|d| Message::parse(d.clone(), &limits).ok())
                .filter(|m| m.validate().is_ok())
                .map(|m| m.to_bytes().len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, typical, torture);
criterion_main!(benches);
