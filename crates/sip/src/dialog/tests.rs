#![allow(clippy::unwrap_used)]

use super::*;
use crate::limits::Limits;

fn parse(s: &str) -> Message {
    Message::parse(Bytes::copy_from_slice(s.as_bytes()), &Limits::default()).unwrap()
}

const SUBSCRIBE: &str = "SUBSCRIBE sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n\
Record-Route: <sip:p2.example.test;lr>\r\n\
Record-Route: <sip:p1.example.test;lr>\r\n\
From: <sip:alice@example.test>;tag=a1\r\n\
To: <sip:bob@example.test>\r\n\
Call-ID: c1@192.0.2.10\r\n\
CSeq: 7 SUBSCRIBE\r\n\
Contact: <sip:alice@192.0.2.10>\r\n\
Event: presence\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn uas_route_set_in_order_and_loose_routing() {
    let req = parse(SUBSCRIBE);
    let local = Uri::parse("sip:pres@192.0.2.1").unwrap();
    let mut d = Dialog::uas(&req, "b1", local, false).unwrap();
    assert_eq!(d.remote_seq, Some(7));
    let n = d.request(Method::Notify);
    assert_eq!(n.uri().unwrap().to_string(), "sip:alice@192.0.2.10");
    let routes: Vec<String> = n
        .name_addrs(&HeaderName::Route)
        .unwrap()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(routes, ["sip:p2.example.test;lr", "sip:p1.example.test;lr"]);
    assert_eq!(n.cseq().unwrap().seq, 1);
    assert_eq!(n.to_header().unwrap().tag(), Some("a1"));
    assert_eq!(n.from_header().unwrap().tag(), Some("b1"));
}

#[test]
fn strict_route_puts_target_last() {
    let req = parse(&SUBSCRIBE.replace("<sip:p2.example.test;lr>", "<sip:p2.example.test>"));
    let mut d = Dialog::uas(&req, "b1", Uri::parse("sip:p@h").unwrap(), false).unwrap();
    let n = d.request(Method::Notify);
    assert_eq!(n.uri().unwrap().to_string(), "sip:p2.example.test");
    let routes: Vec<String> = n
        .name_addrs(&HeaderName::Route)
        .unwrap()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(routes, ["sip:p1.example.test;lr", "sip:alice@192.0.2.10"]);
}

#[test]
fn out_of_order_cseq_is_500() {
    let req = parse(SUBSCRIBE);
    let mut d = Dialog::uas(&req, "b1", Uri::parse("sip:p@h").unwrap(), false).unwrap();
    let refresh = parse(
        &SUBSCRIBE
            .replace(
                "To: <sip:bob@example.test>",
                "To: <sip:bob@example.test>;tag=b1",
            )
            .replace("CSeq: 7", "CSeq: 6"),
    );
    let err = d.check_request(&refresh).unwrap_err();
    assert_eq!(err.status(), 500);
    let ok = parse(
        &SUBSCRIBE
            .replace(
                "To: <sip:bob@example.test>",
                "To: <sip:bob@example.test>;tag=b1",
            )
            .replace("CSeq: 7", "CSeq: 8"),
    );
    d.check_request(&ok).unwrap();
    assert_eq!(d.remote_seq, Some(8));
    assert_eq!(d.check_request(&req).unwrap_err().status(), 481);
}

#[test]
fn record_round_trip() {
    let req = parse(SUBSCRIBE);
    let d = Dialog::uas(&req, "b1", Uri::parse("sip:p@h").unwrap(), false).unwrap();
    assert_eq!(Dialog::from_record(&d.to_record()).unwrap(), d);
}
