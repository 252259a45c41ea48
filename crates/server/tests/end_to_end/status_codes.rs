//! Requests the server cannot serve get the status RFC 3261 prescribes, checked in its order
//! (§16.3, §8.2): 416 for an unknown URI scheme, 483 for Max-Forwards 0, 420 with
//! Unsupported for unknown required extensions, 501 with Allow for unknown methods, 405
//! with Allow for known methods the server itself does not serve (489 Bad Event with
//! Allow-Events for SUBSCRIBE and PUBLISH: it serves no event package itself), 403 for other domains,
//! 404 for unknown users, 481 for CANCEL and BYE that match nothing; ACK gets no answer.

use crate::harness::{reason, request, Setup, TestServer, UdpClient, SILENCE};
use parley_sip::{HeaderName, Message};

async fn ask(server: &TestServer, method: &str, uri: &str, extra: &str) -> Message {
    let client = UdpClient::bind(server.udp()).await;
    let text = request(method, uri, "UDP", client.addr(), extra);
    client.request(&text).await.expect("an answer")
}

#[tokio::test]
async fn each_refusal_has_its_status() {
    let server = TestServer::start(Setup {
        domains: vec!["example.com".into()],
        ..Setup::default()
    })
    .await;
    let me = server.uri();

    let r = ask(&server, "OPTIONS", "mailto:someone@example.com", "").await;
    assert_eq!(
        (r.status(), reason(&r).as_str()),
        (Some(416), "Unsupported URI Scheme")
    );

    let r = ask(&server, "OPTIONS", &me, "Max-Forwards: 0\r\n").await;
    assert_eq!(r.status(), Some(483));

    let r = ask(
        &server,
        "OPTIONS",
        &me,
        "Require: foo, 100rel\r\nProxy-Require: bar\r\n",
    )
    .await;
    assert_eq!(r.status(), Some(420));
    assert_eq!(
        r.tokens(&HeaderName::Unsupported).unwrap(),
        ["bar", "foo", "100rel"]
    );

    let r = ask(&server, "FROBNICATE", &me, "").await;
    assert_eq!(r.status(), Some(501));
    assert!(r.tokens(&HeaderName::Allow).unwrap().contains(&"OPTIONS"));
    for method in ["SUBSCRIBE", "PUBLISH"] {
        let r = ask(&server, method, &me, "").await;
        assert_eq!(r.status(), Some(489), "{method}");
        assert!(r.headers.get(&HeaderName::AllowEvents).is_some());
    }
    for method in ["MESSAGE", "INVITE"] {
        let r = ask(&server, method, &me, "").await;
        assert_eq!(r.status(), Some(405), "{method}");
        let allow = r.tokens(&HeaderName::Allow).unwrap();
        assert!(
            allow.contains(&"REGISTER") && !allow.contains(&method),
            "{allow:?}"
        );
    }
    // REGISTER to the server is the registrar's: the test's From/To user is not ours.
    let r = ask(&server, "REGISTER", &me, "").await;
    assert_eq!(r.status(), Some(404));

    let r = ask(&server, "OPTIONS", "sip:elsewhere.example.org", "").await;
    assert_eq!(r.status(), Some(403));
    // The sender (tester@example.com) is one of ours: authenticate first.
    let r = ask(&server, "MESSAGE", "sip:bob@example.com", "").await;
    assert_eq!(r.status(), Some(407));
    let r = ask(&server, "OPTIONS", "sip:bob@example.com", "").await;
    assert_eq!(r.status(), Some(404));
    let r = ask(&server, "CANCEL", "sip:bob@example.com", "").await;
    assert_eq!(r.status(), Some(481));
    let r = ask(&server, "BYE", &me, "").await;
    assert_eq!(r.status(), Some(481));
    server.stop().await;
}

#[tokio::test]
async fn ack_is_absorbed() {
    let server = TestServer::start(Setup::default()).await;
    let client = UdpClient::bind(server.udp()).await;
    let text = request("ACK", &server.uri(), "UDP", client.addr(), "");
    client.send(text.as_bytes()).await;
    assert!(client.recv(SILENCE).await.is_none());
    server.assert_alive().await;
    server.stop().await;
}
