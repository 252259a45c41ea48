use super::*;
use parley_sip::Limits;

fn router() -> Router {
    let domains = LocalDomains::new(["example.com"], &["127.0.0.1:5060".parse().unwrap()], &[]);
    Router::new(domains, "Parley/test")
}

fn request(start: &str, extra: &str) -> Message {
    let method = start.split(' ').next().unwrap();
    let max_forwards = if extra.contains("Max-Forwards") {
        ""
    } else {
        "Max-Forwards: 70\r\n"
    };
    let text = format!(
        "{start} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         {max_forwards}\
         From: <sip:alice@example.com>;tag=a\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: c1\r\n\
         CSeq: 1 {method}\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    );
    let msg = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
    msg.validate().unwrap();
    msg
}

fn respond(msg: &Message) -> Message {
    match router().decide(msg, "t1", false) {
        Decision::Respond(r) => r,
        Decision::Absorb => panic!("absorbed"),
    }
}

fn code(start: &str, extra: &str) -> u16 {
    respond(&request(start, extra)).status().unwrap()
}

#[test]
fn options_to_the_server_lists_capabilities() {
    for uri in [
        "sip:127.0.0.1",
        "sip:127.0.0.1:5060",
        "sip:example.com",
        "sips:EXAMPLE.com",
    ] {
        let r = respond(&request(&format!("OPTIONS {uri}"), ""));
        assert_eq!(r.status(), Some(200), "{uri}");
        assert_eq!(
            r.tokens(&HeaderName::Allow).unwrap(),
            ["OPTIONS", "ACK", "CANCEL", "BYE"]
        );
        assert!(r.headers.get(&HeaderName::Accept).is_some());
        assert!(r.headers.get(&HeaderName::Supported).is_some());
        assert!(r.to_header().unwrap().tag().is_some());
        assert!(r.body.is_empty());
    }
}

#[test]
fn checks_run_in_rfc_order() {
    assert_eq!(
        code("OPTIONS mailto:x@example.com", "Max-Forwards: 0\r\n"),
        416
    );
    assert_eq!(code("OPTIONS sip:127.0.0.1", "Max-Forwards: 0\r\n"), 483);
    assert_eq!(code("OPTIONS sip:elsewhere.org", "Require: foo\r\n"), 420);
    assert_eq!(code("FOO sip:elsewhere.org", ""), 501);
    assert_eq!(code("OPTIONS sip:elsewhere.org", ""), 403);
    assert_eq!(code("OPTIONS sip:127.0.0.1:5999", ""), 403);
    assert_eq!(code("MESSAGE sip:bob@example.com", ""), 404);
    assert_eq!(code("OPTIONS tel:+15551234", ""), 404);
}

#[test]
fn bad_extension_lists_every_unsupported_tag_once() {
    let r = respond(&request(
        "OPTIONS sip:bob@example.com",
        "Require: a, b\r\nProxy-Require: c, a\r\n",
    ));
    assert_eq!(r.status(), Some(420));
    assert_eq!(r.tokens(&HeaderName::Unsupported).unwrap(), ["c", "a", "b"]);
}

#[test]
fn methods_not_served_get_501_with_allow() {
    for method in [
        "REGISTER",
        "SUBSCRIBE",
        "PUBLISH",
        "MESSAGE",
        "INVITE",
        "NEWMETHOD",
    ] {
        let r = respond(&request(&format!("{method} sip:example.com"), ""));
        assert_eq!(r.status(), Some(501), "{method}");
        assert!(r.headers.get(&HeaderName::Allow).is_some());
    }
}

#[test]
fn cancel_and_bye_match_nothing_and_ack_is_absorbed() {
    assert_eq!(code("CANCEL sip:bob@example.com", "Require: x\r\n"), 481);
    let cancel = request("CANCEL sip:bob@example.com", "");
    match router().decide(&cancel, "t", true) {
        Decision::Respond(r) => assert_eq!(r.status(), Some(200)),
        Decision::Absorb => panic!("a CANCEL is answered"),
    }
    assert_eq!(code("BYE sip:example.com", ""), 481);
    assert_eq!(
        router().decide(&request("ACK sip:example.com", ""), "t", false),
        Decision::Absorb
    );
}
