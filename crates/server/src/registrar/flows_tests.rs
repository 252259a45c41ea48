use super::*;
use parley_store::Source;

fn aor() -> Address {
    Address::parse("jack@example.test").unwrap()
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(secs)
}

fn peer(connection: u64, remote: &str) -> Peer {
    Peer {
        transport: Transport::Tcp,
        remote: remote.parse().unwrap(),
        local: "127.0.0.1:5060".parse().unwrap(),
        connection: Some(ConnectionId(connection)),
    }
}

/// A binding made by a REGISTER with `call_id` from `from`, with an instance and `reg-id` 1
/// when `instance` is given.
fn binding(contact: &str, instance: Option<&str>, call_id: &str, from: &Peer) -> Binding {
    Binding {
        aor: aor(),
        contact: contact.into(),
        q: None,
        expires_at: at(1_000),
        call_id: call_id.into(),
        cseq: 1,
        instance_id: instance.map(str::to_owned),
        reg_id: instance.map(|_| 1),
        path: Vec::new(),
        source: Some(Source {
            transport: "tcp".into(),
            address: from.remote,
            connection_id: from.connection.map(|c| c.0),
        }),
        user_agent: None,
    }
}

fn uri(s: &str) -> Uri {
    Uri::parse(s).unwrap()
}

const OLD: &str = "sip:jack@127.0.0.1:41559;transport=TCP;ob";
const NEW: &str = "sip:jack@127.0.0.1:41600;transport=TCP;ob";
const INSTANCE: &str = "<urn:uuid:00000000-0000-0000-0000-0000a30f0000>";

#[test]
fn a_contact_is_reached_over_the_connection_it_registered_on() {
    let flows = Flows::default();
    let p = peer(7, "127.0.0.1:41559");
    flows.connection_seen(ConnectionId(7), p.remote);
    flows.registered(&aor(), &p, &[], &[binding(OLD, None, "ua", &p)]);
    // The same URI written differently (RFC 3261 §19.1.4) matches.
    let same = uri("sip:jack@127.0.0.1:41559;ob;transport=tcp");
    assert_eq!(
        flows.flow_for(&same, at(10)),
        Some((ConnectionId(7), Transport::Tcp))
    );
    assert_eq!(
        flows.flow_for(&uri("sip:jack@127.0.0.1:41560;transport=tcp"), at(10)),
        None
    );
    // Not once it has expired, nor once its connection has closed.
    assert_eq!(flows.flow_for(&same, at(1_000)), None);
    flows.connection_closed(ConnectionId(7));
    assert_eq!(flows.flow_for(&same, at(10)), None);
}

#[test]
fn a_user_agent_that_moved_to_a_new_contact_is_reached_at_its_old_one() {
    let flows = Flows::default();
    // After a restart, as pjsua2 does it: the stored binding names a connection of the old
    // process (the same id as a live one of this process, from another peer); the new
    // REGISTER, with the same Call-ID, comes over a new connection, removes the old contact
    // and adds a new one (without the instance: the registrar did not require outbound).
    let old = peer(3, "127.0.0.1:41559");
    let new = peer(3, "127.0.0.1:41600");
    flows.connection_seen(ConnectionId(3), new.remote);
    let before = [binding(OLD, Some(INSTANCE), "ua", &old)];
    flows.registered(&aor(), &new, &before, &[binding(NEW, None, "ua", &new)]);
    let want = Some((ConnectionId(3), Transport::Tcp));
    assert_eq!(flows.flow_for(&uri(OLD), at(10)), want);
    assert_eq!(flows.flow_for(&uri(NEW), at(10)), want);
}

#[test]
fn a_rebooted_instance_is_reached_at_a_contact_of_before() {
    let flows = Flows::default();
    // A new Call-ID (the user agent restarted) with the same instance; the old binding
    // stays until it expires.
    let old = peer(1, "127.0.0.1:41559");
    let new = peer(2, "127.0.0.1:41600");
    flows.connection_seen(ConnectionId(2), new.remote);
    let stored = binding(OLD, Some(INSTANCE), "boot-1", &old);
    let before = vec![stored.clone()];
    let after = [stored, binding(NEW, Some(INSTANCE), "boot-2", &new)];
    flows.registered(&aor(), &new, &before, &after);
    assert_eq!(
        flows.flow_for(&uri(OLD), at(10)),
        Some((ConnectionId(2), Transport::Tcp))
    );
}

#[test]
fn a_binding_restored_from_the_store_has_no_flow() {
    let flows = Flows::default();
    // Another user agent of the user registers over connection 3 of this process; the
    // stored binding's connection 3 was another one, of the old process.
    let old = peer(3, "127.0.0.1:41559");
    let other = peer(3, "127.0.0.1:50000");
    flows.connection_seen(ConnectionId(3), other.remote);
    let stored = binding(OLD, None, "ua-1", &old);
    let fresh = binding(
        "sip:jack@127.0.0.1:50000;transport=tcp",
        None,
        "ua-2",
        &other,
    );
    let before = vec![stored.clone()];
    flows.registered(&aor(), &other, &before, &[stored, fresh]);
    assert_eq!(flows.flow_for(&uri(OLD), at(10)), None);
}

#[test]
fn a_removed_registration_is_forgotten() {
    let flows = Flows::default();
    let p = peer(7, "127.0.0.1:41559");
    flows.connection_seen(ConnectionId(7), p.remote);
    let b = binding(OLD, Some(INSTANCE), "ua", &p);
    flows.registered(&aor(), &p, &[], std::slice::from_ref(&b));
    assert!(flows.flow_for(&uri(OLD), at(10)).is_some());
    flows.registered(&aor(), &p, &[b], &[]);
    assert_eq!(flows.flow_for(&uri(OLD), at(10)), None);
}

#[test]
fn purge_forgets_expired_registrations() {
    let flows = Flows::default();
    let p = peer(7, "127.0.0.1:41559");
    flows.connection_seen(ConnectionId(7), p.remote);
    flows.registered(&aor(), &p, &[], &[binding(OLD, None, "ua", &p)]);
    flows.purge(at(999));
    assert!(flows.flow_for(&uri(OLD), at(10)).is_some());
    flows.purge(at(1_000));
    assert_eq!(flows.flow_for(&uri(OLD), at(10)), None);
}

#[tokio::test]
async fn a_wait_ends_when_the_user_agent_registers() {
    let flows = std::sync::Arc::new(Flows::default());
    let waiting = {
        let flows = flows.clone();
        tokio::spawn(async move {
            flows
                .wait_for(&uri(OLD), Duration::from_secs(30), || at(10))
                .await
        })
    };
    tokio::task::yield_now().await;
    let old = peer(1, "127.0.0.1:41559");
    let new = peer(2, "127.0.0.1:41600");
    flows.connection_seen(ConnectionId(2), new.remote);
    let before = [binding(OLD, Some(INSTANCE), "ua", &old)];
    flows.registered(&aor(), &new, &before, &[binding(NEW, None, "ua", &new)]);
    assert_eq!(
        waiting.await.unwrap(),
        Some((ConnectionId(2), Transport::Tcp))
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_gives_up_at_its_limit() {
    let flows = Flows::default();
    let found = flows
        .wait_for(&uri(OLD), Duration::from_secs(32), || at(10))
        .await;
    assert_eq!(found, None);
}
