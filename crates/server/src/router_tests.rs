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
        other => panic!("not answered: {other:?}"),
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
        assert!(r
            .tokens(&HeaderName::Allow)
            .unwrap()
            .starts_with(&["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "MESSAGE"]));
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
    assert_eq!(code("OPTIONS tel:+15551234", ""), 404);
}

fn decide(start: &str, extra: &str) -> Decision {
    router().decide(&request(start, extra), "t", false)
}

#[test]
fn users_go_to_the_proxy_and_registers_to_the_registrar() {
    assert_eq!(decide("MESSAGE sip:bob@example.com", ""), Decision::Proxy);
    assert_eq!(decide("INVITE sip:bob@127.0.0.1:5060", ""), Decision::Proxy);
    assert_eq!(decide("REGISTER sip:example.com", ""), Decision::Register);
    assert_eq!(
        decide("REGISTER sip:alice@EXAMPLE.com", ""),
        Decision::Register
    );
    assert_eq!(code("REGISTER sip:elsewhere.org", ""), 403);
}

#[test]
fn our_route_goes_to_the_proxy_whatever_the_request_uri() {
    for uri in ["sip:bob@192.0.2.99:5070", "sip:elsewhere.org"] {
        for route in ["<sip:127.0.0.1:5060;lr>", "<sip:example.com;lr>"] {
            let extra = format!("Route: {route}\r\n");
            assert_eq!(
                decide(&format!("BYE {uri}"), &extra),
                Decision::Proxy,
                "{uri} {route}"
            );
            assert_eq!(
                decide(&format!("ACK {uri}"), &extra),
                Decision::Proxy,
                "{uri} {route}"
            );
        }
    }
    let foreign = "Route: <sip:proxy.elsewhere.org;lr>\r\n";
    assert_eq!(code("BYE sip:bob@192.0.2.99", foreign), 403);
    assert_eq!(decide("ACK sip:bob@192.0.2.99", foreign), Decision::Absorb);
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
fn methods_not_served_get_501_405_or_489() {
    let r = respond(&request("NEWMETHOD sip:example.com", ""));
    assert_eq!(r.status(), Some(501));
    assert!(r.headers.get(&HeaderName::Allow).is_some());
    for method in ["SUBSCRIBE", "PUBLISH"] {
        let r = respond(&request(&format!("{method} sip:example.com"), ""));
        assert_eq!(
            r.status(),
            Some(489),
            "{method}: the server serves no package itself"
        );
        assert!(r.headers.get(&HeaderName::AllowEvents).is_some());
    }
    for method in ["MESSAGE", "INVITE"] {
        let r = respond(&request(&format!("{method} sip:example.com"), ""));
        assert_eq!(r.status(), Some(405), "{method}");
        let allow = r.tokens(&HeaderName::Allow).unwrap();
        assert!(
            allow.contains(&"REGISTER") && !allow.contains(&method),
            "{allow:?}"
        );
    }
}

#[test]
fn cancel_and_bye_match_nothing_and_ack_is_absorbed() {
    assert_eq!(code("CANCEL sip:bob@example.com", "Require: x\r\n"), 481);
    let cancel = request("CANCEL sip:bob@example.com", "");
    match router().decide(&cancel, "t", true) {
        Decision::Respond(r) => assert_eq!(r.status(), Some(200)),
        other => panic!("a CANCEL is answered: {other:?}"),
    }
    assert_eq!(code("BYE sip:example.com", ""), 481);
    assert_eq!(
        router().decide(&request("ACK sip:example.com", ""), "t", false),
        Decision::Absorb
    );
}
