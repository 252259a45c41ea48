//! A MESSAGE forked to two contacts on a lossy network. Alice is registered from two phones;
//! Bob sends her a MESSAGE while the network drops 20 % of the datagrams (seeded, so the run
//! is the same every time). Retransmissions make up for the losses: each of Alice's phones
//! hands the MESSAGE to its user exactly once, and Bob's phone gets exactly one final
//! response, a 200.

use crate::harness::Sim;
use parley_sip::Method;
use parley_test_support::SimNetwork;

#[tokio::test(start_paused = true)]
async fn each_contact_gets_one_delivery_and_the_sender_one_final_response() {
    let net = SimNetwork::new(20).with_loss(0.2);
    let mut sim = Sim::new(net, &[("alice", "pa"), ("bob", "pb")], |_| {});
    let desk = sim.phone("alice", "pa");
    let mobile = sim.phone("alice", "pa");
    let bob = sim.phone("bob", "pb");
    for phone in [desk, mobile] {
        let ok = sim.register(phone, 3600).await;
        assert_eq!(ok.status(), Some(200), "{ok:?}");
    }

    let finals_before = sim.phones[bob].finals.len();
    let response = sim.message(bob, "alice", "lunch?").await;
    assert_eq!(response.status(), Some(200), "{response:?}");
    // Long enough for every retransmission and transaction timer to run out.
    sim.run_for(std::time::Duration::from_secs(64)).await;

    for phone in [desk, mobile] {
        let messages: Vec<_> = sim.phones[phone]
            .requests
            .iter()
            .filter(|(_, r)| r.method() == Some(&Method::Message))
            .collect();
        assert_eq!(messages.len(), 1, "phone {phone}: {messages:?}");
        assert!(messages[0].1.body.ends_with(b"lunch?"));
    }
    // The 407 challenge, then the 200: one final response per transaction.
    assert_eq!(sim.phones[bob].finals.len() - finals_before, 2);
    let lost = sim.net.log().iter().filter(|s| s.lost).count();
    assert!(
        lost > 0,
        "the network lost nothing: the scenario proves nothing"
    );
}
