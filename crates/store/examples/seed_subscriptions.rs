//! Fills a data directory with live presence subscriptions, to time how long `parley serve`
//! takes to have them back in service after a restart (issue 5: a million within 10 s).
//! Not part of any test run.
//!
//!     cargo run --release -p parley-store --example seed_subscriptions -- DIR [COUNT] [PRESENTITIES]
//!
//! COUNT (default 1,000,000) watchers `w<i>@example.test`, each with one `active` subscription
//! to `p<i mod PRESENTITIES>@example.test` (default 100,000 presentities), expiring in an hour,
//! each dialog as a real SUBSCRIBE from 127.0.0.1 would leave it.

// A load generator run by hand: failing loudly is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_store::presence::{DialogId, Subscription, SubscriptionDialog, SubscriptionState};
use parley_store::{Address, SqliteStore, SubscriptionStore, Timestamp};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn subscription(i: u64, presentities: u64, now: Timestamp) -> Subscription {
    let watcher = format!("w{i}@example.test");
    let resource = format!("p{}@example.test", i % presentities);
    Subscription {
        id: format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        event: "presence".into(),
        watcher: Address::parse(&watcher).unwrap(),
        watcher_display_name: None,
        resource: Address::parse(&resource).unwrap(),
        dialog: SubscriptionDialog {
            id: DialogId {
                call_id: format!("{i}-seed@127.0.0.1"),
                local_tag: format!("{:016x}", i.wrapping_mul(31)),
                remote_tag: format!("{i}"),
            },
            local_cseq: 64,
            remote_cseq: 1,
            local_uri: format!("sip:{resource}"),
            remote_uri: format!("sip:{watcher}"),
            remote_target: format!("sip:w{i}@127.0.0.1:{}", 10_000 + i % 50_000),
            local_contact: format!("sip:p{}@127.0.0.1:5060", i % presentities),
            route_set: Vec::new(),
            secure: false,
        },
        state: SubscriptionState::Active,
        expires_at: Timestamp::from_unix_secs(now.as_unix_secs() + 3600),
        source: None,
        winfo_version: 0,
        created_at: now,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: seed_subscriptions DIR [COUNT] [P]"),
    );
    let count: u64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let presentities: u64 = args.next().map_or(100_000, |a| a.parse().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(&dir).unwrap());
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = Timestamp::from_unix_secs(secs);
    let started = Instant::now();
    // Concurrent writers share commits (the store's group commit).
    let threads = 64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut i = t;
                while i < count {
                    store
                        .insert_subscription(&subscription(i, presentities, now), 1000, now)
                        .unwrap();
                    i += threads;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!(
        "{count} subscriptions to {presentities} presentities stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
