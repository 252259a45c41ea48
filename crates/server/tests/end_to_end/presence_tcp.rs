//! A watcher over TCP gets its NOTIFYs back over the connection its SUBSCRIBE came on (its
//! Contact names a port nothing listens on, as for a phone behind NAT).

use crate::harness::{Setup, TestServer, ANSWER};
use crate::phone::Phone;
use crate::presence_util::{body, next_notify, publish, subscribe};

#[tokio::test]
async fn notifies_go_back_over_the_subscribe_connection() {
    let setup = Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")]);
    let server = TestServer::start(setup).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let mut bob = Phone::tcp(&server, "bob@example.com", "hunter2").await;
    let tag = publish(&mut alice, "first", None).await;
    let (_dialog, _ok) = subscribe(&mut bob, "alice@example.com", 600).await;
    let n = next_notify(&mut bob, ANSWER)
        .await
        .expect("the first NOTIFY");
    assert!(body(&n).contains("first"), "{}", body(&n));
    publish(&mut alice, "second", Some(&tag)).await;
    let n = next_notify(&mut bob, ANSWER * 2)
        .await
        .expect("a NOTIFY for the change");
    assert!(body(&n).contains("second"), "{}", body(&n));
}
