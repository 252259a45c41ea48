//! The end-to-end presence model (RFC 3856 §3.3) with no server: Alice's agent answers
//! SUBSCRIBEs for her own address; Bob subscribes straight to her contact. Bob sees her
//! status and note, then her new note when she changes it; when he unsubscribes, Alice's
//! agent sends the final NOTIFY and reports him gone.

use crate::harness::{config, udp};
use parley_client::presence::agent::{PresenceAgent, PresenceEvent};
use parley_client::presence::PresenceState;
use parley_client::UserAgent;
use std::time::Duration;

async fn next(agent: &mut PresenceAgent) -> PresenceEvent {
    tokio::time::timeout(Duration::from_secs(10), agent.next_event())
        .await
        .expect("an event in time")
        .expect("the agent runs")
}

#[tokio::test]
async fn a_watcher_subscribes_straight_to_the_agent() {
    // Alice needs some "server" to start; a silent socket stands in for it.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let alice_cfg = config(
        "alice@example.test",
        "pw",
        vec![udp(silent.local_addr().unwrap())],
    );
    let alice = UserAgent::start(alice_cfg).await.unwrap();
    let mut state = PresenceState::default();
    state
        .apply_line(r#"status=open note="at my desk""#)
        .unwrap();
    let mut served = PresenceAgent::start(&alice, Some(state.clone()));

    let bob_cfg = config("bob@example.test", "pw", vec![udp(alice.local_addr())]);
    let bob = UserAgent::start(bob_cfg).await.unwrap();
    let mut watcher = PresenceAgent::start(&bob, None);
    let contact = format!("sip:alice@{}", alice.local_addr());
    watcher.watch_address(&contact).await.unwrap();

    assert_eq!(
        next(&mut served).await,
        PresenceEvent::Subscribed {
            watcher: "bob@example.test".into()
        }
    );
    let PresenceEvent::Presence { who, summary } = next(&mut watcher).await else {
        panic!("presence expected");
    };
    assert_eq!(who, "alice@127.0.0.1");
    assert_eq!(
        summary.display_line("alice"),
        r#"alice open note="at my desk""#
    );

    state
        .apply_line(r#"note="gone for lunch" activity=away"#)
        .unwrap();
    served.set_state(state).await.unwrap();
    let PresenceEvent::Presence { summary, .. } = next(&mut watcher).await else {
        panic!("presence expected");
    };
    assert_eq!(
        summary.display_line("alice"),
        r#"alice open activities=away note="gone for lunch""#
    );

    watcher.stop().await;
    assert_eq!(
        next(&mut served).await,
        PresenceEvent::Unsubscribed {
            watcher: "bob@example.test".into()
        }
    );
    served.stop().await;
    bob.shutdown().await;
    alice.shutdown().await;
}
