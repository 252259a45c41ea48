//! Subscription authorization on one core (issue 5): every SUBSCRIBE, every restored
//! subscription (a million at a restart) and every decision a presentity changes goes through
//! `PolicyEngine::decide`; a basic-only view and a polite block are what a watcher who may
//! not see everything gets instead of the full document.
//! Run: `cargo bench -p parley-presence --bench policy`.

// Fixtures are checked-in documents known to parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parley_presence::policy::{
    polite_block_document, AuthorizationRules, Party, PolicyEngine, SubHandling,
    SubscriptionPolicy, Visibility,
};
use parley_presence::Presence;
use std::hint::black_box;

/// A rule source that knows one blocked watcher, as a pres-rules document might.
#[derive(Debug)]
struct BlockOne;

impl AuthorizationRules for BlockOne {
    fn evaluate(
        &self,
        watcher: Party<'_>,
        _presentity: Party<'_>,
    ) -> Option<(SubHandling, Visibility)> {
        (watcher.user == "mallory").then_some((SubHandling::Block, Visibility::Full))
    }
}

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Elements(1));
    let alice = Party::new("alice", "example.test");
    let bob = Party::new("bob", "example.test");
    let carol = Party::new("carol", "other.test");
    for (name, policy) in [
        ("allow", SubscriptionPolicy::Allow),
        ("same-domain", SubscriptionPolicy::SameDomain),
        ("confirm", SubscriptionPolicy::Confirm),
    ] {
        let engine = PolicyEngine::new(policy);
        group.bench_function(format!("decide/{name}/no stored decision"), |b| {
            b.iter(|| engine.decide(black_box(bob), black_box(alice), None))
        });
        group.bench_function(format!("decide/{name}/other domain"), |b| {
            b.iter(|| engine.decide(black_box(carol), black_box(alice), None))
        });
    }
    let engine = PolicyEngine::new(SubscriptionPolicy::Confirm);
    group.bench_function("decide/confirm/stored polite block", |b| {
        b.iter(|| {
            engine.decide(
                black_box(bob),
                black_box(alice),
                Some(SubHandling::PoliteBlock),
            )
        })
    });
    let engine = PolicyEngine::new(SubscriptionPolicy::Confirm).with_rules(Box::new(BlockOne));
    group.bench_function("decide/confirm/rule source", |b| {
        b.iter(|| engine.decide(black_box(bob), black_box(alice), None))
    });
    group.finish();
}

fn views(c: &mut Criterion) {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/pjsua-busy.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let doc = Presence::parse(&body).unwrap();
    let mut group = c.benchmark_group("view");
    group.throughput(Throughput::Elements(1));
    group.bench_function("basic-only+print", |b| {
        b.iter(|| Visibility::BasicOnly.apply(black_box(&doc)).to_xml())
    });
    group.bench_function("polite block+print", |b| {
        b.iter(|| polite_block_document(black_box("sip:alice@example.test")).to_xml())
    });
    group.finish();
}

criterion_group!(benches, decide, views);
criterion_main!(benches);
