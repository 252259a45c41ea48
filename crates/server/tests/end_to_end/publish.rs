//! A presentity publishes its presence state to the server (RFC 3903): the initial PUBLISH
//! gets `200` with a `SIP-ETag` and `Expires`, a refresh and a modify with `SIP-If-Match`
//! get new entity tags, `Expires: 0` removes the publication, and the removed (or an unknown)
//! tag then gets `412`. Someone else than the presentity gets `403`, a non-PIDF body `415`
//! with `Accept`, a broken PIDF `400`, too short an interval `423` with `Min-Expires`.

use crate::harness::{Setup, TestServer};
use crate::phone::Phone;
use parley_sip::{HeaderName, Message};

fn setup() -> Setup {
    Setup::with_users("example.com", &[("alice", "secret"), ("bob", "hunter2")])
}

pub fn pidf(entity: &str, note: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:{entity}\">\
         <tuple id=\"t1\"><status><basic>open</basic></status><note>{note}</note></tuple>\
         </presence>"
    )
}

fn etag(r: &Message) -> String {
    r.headers
        .get(&HeaderName::SipETag)
        .and_then(|h| h.value_str())
        .expect("SIP-ETag")
        .to_owned()
}

fn header(r: &Message, name: HeaderName) -> Option<String> {
    r.headers
        .get(&name)
        .and_then(|h| h.value_str())
        .map(str::to_owned)
}

const PIDF_TYPE: &str = "Event: presence\r\nContent-Type: application/pidf+xml\r\n";

#[tokio::test]
async fn the_publication_life_cycle() {
    let server = TestServer::start(setup()).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let to = "alice@example.com";
    let body = pidf(to, "at lunch");

    let initial = alice
        .request(
            "PUBLISH",
            to,
            &format!("{PIDF_TYPE}Expires: 600\r\n"),
            &body,
        )
        .await;
    assert_eq!(initial.status(), Some(200), "{initial:?}");
    let first = etag(&initial);
    assert_eq!(
        header(&initial, HeaderName::Expires).as_deref(),
        Some("600")
    );

    let refresh = alice
        .request(
            "PUBLISH",
            to,
            &format!("Event: presence\r\nSIP-If-Match: {first}\r\nExpires: 600\r\n"),
            "",
        )
        .await;
    assert_eq!(refresh.status(), Some(200));
    let second = etag(&refresh);
    assert_ne!(first, second);

    let modify = alice
        .request(
            "PUBLISH",
            to,
            &format!("{PIDF_TYPE}SIP-If-Match: {second}\r\n"),
            &pidf(to, "back"),
        )
        .await;
    assert_eq!(modify.status(), Some(200));
    let third = etag(&modify);

    let stale = alice
        .request(
            "PUBLISH",
            to,
            &format!("Event: presence\r\nSIP-If-Match: {first}\r\n"),
            "",
        )
        .await;
    assert_eq!(stale.status(), Some(412));

    let remove = alice
        .request(
            "PUBLISH",
            to,
            &format!("Event: presence\r\nSIP-If-Match: {third}\r\nExpires: 0\r\n"),
            "",
        )
        .await;
    assert_eq!(remove.status(), Some(200));
    let gone = alice
        .request(
            "PUBLISH",
            to,
            &format!("Event: presence\r\nSIP-If-Match: {third}\r\n"),
            "",
        )
        .await;
    assert_eq!(gone.status(), Some(412));
}

#[tokio::test]
async fn bad_publishes_are_refused() {
    let server = TestServer::start(setup()).await;
    let mut alice = Phone::udp(&server, "alice@example.com", "secret").await;
    let mut bob = Phone::udp(&server, "bob@example.com", "hunter2").await;
    let to = "alice@example.com";

    let foreign = bob.request("PUBLISH", to, PIDF_TYPE, &pidf(to, "x")).await;
    assert_eq!(foreign.status(), Some(403));

    let text = alice
        .request(
            "PUBLISH",
            to,
            "Event: presence\r\nContent-Type: text/plain\r\n",
            "hi",
        )
        .await;
    assert_eq!(text.status(), Some(415));
    assert_eq!(
        header(&text, HeaderName::Accept).as_deref(),
        Some("application/pidf+xml")
    );

    let broken = alice.request("PUBLISH", to, PIDF_TYPE, "<presence").await;
    assert_eq!(broken.status(), Some(400));

    let brief = alice
        .request(
            "PUBLISH",
            to,
            &format!("{PIDF_TYPE}Expires: 1\r\n"),
            &pidf(to, "x"),
        )
        .await;
    assert_eq!(brief.status(), Some(423));
    assert!(header(&brief, HeaderName::MinExpires).is_some());
}
