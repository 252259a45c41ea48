//! Every message RFC 4475 calls syntactically valid (§3.1.1, §3.2–3.3 and the RFC 2543 one of
//! §3.4) parses, passes the parser-level checks of its section, and prints back to a message
//! that parses to the same thing — what a proxy relaying it would send on.

use bytes::Bytes;
use parley_sip::{HeaderName, Limits, Message, Method};
use parley_test_support::fixtures::{rfc4475, Class};

fn parse(bytes: &[u8]) -> Message {
    Message::parse(Bytes::copy_from_slice(bytes), &Limits::default()).unwrap()
}

#[test]
fn valid_messages_parse_validate_and_round_trip() {
    let all = rfc4475();
    let valid: Vec<_> = all
        .iter()
        .filter(|m| matches!(m.class, Class::Valid | Class::Rfc2543))
        .collect();
    assert_eq!(
        valid.len(),
        14,
        "RFC 4475 has 13 valid messages in §3.1.1 plus inv2543"
    );
    for m in valid {
        let msg = Message::parse(Bytes::copy_from_slice(&m.bytes), &Limits::default())
            .unwrap_or_else(|e| panic!("{} ({}) must parse: {:?}", m.name, m.section, e.error));
        msg.validate()
            .unwrap_or_else(|e| panic!("{} ({}) must validate: {e}", m.name, m.section));
        let printed = msg.to_bytes();
        let reparsed = Message::parse(printed.clone(), &Limits::default())
            .unwrap_or_else(|e| panic!("{} printed form must parse: {:?}", m.name, e.error));
        assert_eq!(
            reparsed, msg,
            "{}: print then parse changed the message",
            m.name
        );
        assert_eq!(
            reparsed.to_bytes(),
            printed,
            "{}: printing is not stable",
            m.name
        );
    }
}

#[test]
fn semantic_tests_are_parseable() {
    // §3.2–3.3 messages are well-formed at the parser layer; their errors are for the
    // application to find (answered 416, 420, 483, ... by the server). mcl01's two
    // Content-Lengths make the body undelimitable, which the parser itself must refuse.
    for m in rfc4475()
        .iter()
        .filter(|m| m.class == Class::Semantic && m.name != "mcl01")
    {
        Message::parse(Bytes::copy_from_slice(&m.bytes), &Limits::default())
            .unwrap_or_else(|e| panic!("{} ({}) must parse: {:?}", m.name, m.section, e.error));
    }
}

#[test]
fn tortuous_invite_fields_are_read_correctly() {
    let all = rfc4475();
    let wsinv = all.iter().find(|m| m.name == "wsinv").unwrap();
    let msg = parse(&wsinv.bytes);
    assert_eq!(msg.method(), Some(&Method::Invite));
    assert_eq!(msg.to_header().unwrap().tag(), Some("1918181833n"));
    assert_eq!(msg.from_header().unwrap().tag(), Some("98asjd8"));
    assert_eq!(msg.max_forwards().unwrap(), Some(68));
    assert_eq!(msg.cseq().unwrap().seq, 9);
    let vias: Vec<_> = msg.vias().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(
        msg.headers
            .get_str(&HeaderName::Other(Bytes::from_static(b"NewFangledHeader"))),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(msg.headers.get_str(&HeaderName::Subject), Some(""));
    assert_eq!(msg.body.len(), 150);
}

#[test]
fn extra_octets_after_content_length_are_ignored() {
    let all = rfc4475();
    let dbl = all.iter().find(|m| m.name == "dblreq").unwrap();
    let msg = parse(&dbl.bytes);
    assert_eq!(msg.body.len(), 0);
    assert_eq!(msg.method(), Some(&Method::Register));
}

#[test]
fn escaped_and_odd_uris_keep_their_text() {
    let all = rfc4475();
    let esc = parse(&all.iter().find(|m| m.name == "esc01").unwrap().bytes);
    assert_eq!(
        esc.uri().unwrap().to_string(),
        "sip:sips%3Auser%40example.com@example.net"
    );
    let to = esc.to_header().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user_unescaped().as_deref(),
        Some("user")
    );
    let unk = parse(&all.iter().find(|m| m.name == "unkscm").unwrap().bytes);
    assert_eq!(unk.uri().unwrap().scheme(), "nobodyknowsthisscheme");
}

#[test]
fn multiple_values_in_one_header() {
    let all = rfc4475();
    let semi = parse(&all.iter().find(|m| m.name == "semiuri").unwrap().bytes);
    let accept = semi.headers.get_str(&HeaderName::Accept).unwrap();
    assert_eq!(
        parley_sip::header::media::parse_accept(accept)
            .unwrap()
            .len(),
        6
    );
    let transports = parse(&all.iter().find(|m| m.name == "transports").unwrap().bytes);
    let t: Vec<_> = transports
        .vias()
        .map(|v| v.unwrap().transport.to_owned())
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}
