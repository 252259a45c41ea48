//! Rate control of NOTIFYs (RFC 6446 style): 100 PUBLISHes in a burst to a watched
//! presentity give the watcher only a handful of NOTIFYs, and the last one carries the last
//! state.

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, next_notify, publish, subscribe};
use std::time::Duration;

#[tokio::test]
async fn a_burst_of_publishes_is_coalesced() {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let mut tag = publish(&mut alice, "note 0", None).await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");

    let watcher = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(n) = next_notify(&mut bob, Duration::from_secs(3)).await {
            got.push(body(&n));
        }
        got
    });
    for i in 1..=100 {
        tag = publish(&mut alice, &format!("note {i}"), Some(&tag)).await;
    }
    let got = watcher.await.unwrap();
    assert!(!got.is_empty() && got.len() <= 10, "{} NOTIFYs", got.len());
    assert!(got.last().unwrap().contains("note 100"), "{:?}", got.last());
}
