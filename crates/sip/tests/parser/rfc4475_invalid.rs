//! Every message RFC 4475 §3.1.2 calls invalid is refused, each for the reason the RFC gives
//! — the reason a server puts in its `400` (or the `505` for a SIP version it does not speak).
//! The application-layer tests of §3.3 that a parser must catch (missing or repeated
//! single-value fields, two Content-Lengths) are refused too.

use bytes::Bytes;
use parley_sip::{Limits, Message, ParseError};
use parley_test_support::fixtures::{rfc4475, Class};

/// Parses and validates, returning the first error.
fn check(bytes: &[u8]) -> Result<Message, ParseError> {
    let msg =
        Message::parse(Bytes::copy_from_slice(bytes), &Limits::default()).map_err(|r| r.error)?;
    msg.validate()?;
    Ok(msg)
}

fn expected(name: &str) -> Option<ParseError> {
    let h = |header, reason| ParseError::Header { header, reason };
    Some(match name {
        "badinv01" => h("Via", "malformed parameter"),
        "clerr" => ParseError::BodyTruncated,
        "ncl" => h("Content-Length", "not a non-negative number"),
        "scalar02" => h("CSeq", "sequence number is not a 32-bit number"),
        "scalarlg" => h("CSeq", "sequence number is not a 32-bit number"),
        "quotbal" => h("To", "unterminated quoted string"),
        "ltgtruri" => ParseError::RequestUri("enclosed in <>"),
        "lwsruri" | "lwsstart" | "trws" => ParseError::StartLine(
            "request line must be method, Request-URI and version separated by single spaces",
        ),
        "escruri" => ParseError::RequestUri("headers are not allowed"),
        "baddate" => h("Date", "not an RFC 1123 date in GMT"),
        "regbadct" => h(
            "Contact",
            "URI with '?', ',' or spaces must be enclosed in <>",
        ),
        "badaspec" => h("To", "whitespace inside <>"),
        "baddn" => h(
            "From",
            "display name is neither a token list nor a quoted string",
        ),
        "badvers" => ParseError::Version,
        "mismatch01" | "mismatch02" => ParseError::CSeqMismatch,
        "bigcode" => ParseError::StatusCode,
        // §3.3 messages a parser-level check must catch.
        "insuf" => ParseError::Missing("From"),
        // The first repeated single-value field in message order.
        "multi01" => ParseError::Duplicate("CSeq"),
        "mcl01" => ParseError::Duplicate("Content-Length"),
        "test" => ParseError::StartLine(
            "request line must be method, Request-URI and version separated by single spaces",
        ),
        _ => return None,
    })
}

#[test]
fn invalid_messages_are_rejected_with_the_specific_error() {
    let all = rfc4475();
    let invalid: Vec<_> = all.iter().filter(|m| m.class == Class::Invalid).collect();
    assert_eq!(invalid.len(), 19, "RFC 4475 §3.1.2 has 19 invalid messages");
    for m in &invalid {
        let want = expected(&m.name).unwrap_or_else(|| panic!("no expectation for {}", m.name));
        assert_eq!(
            check(&m.bytes).err(),
            Some(want),
            "{} ({})",
            m.name,
            m.section
        );
    }
}

#[test]
fn parser_level_semantic_errors() {
    for name in ["insuf", "multi01", "mcl01", "test"] {
        let all = rfc4475();
        let m = all.iter().find(|m| m.name == name).unwrap();
        assert_eq!(check(&m.bytes).err(), expected(name), "{name}");
    }
}

#[test]
fn rejected_requests_keep_their_headers_for_the_answer() {
    let all = rfc4475();
    let m = all.iter().find(|m| m.name == "ltgtruri").unwrap();
    let rejected =
        Message::parse(Bytes::copy_from_slice(&m.bytes), &Limits::default()).unwrap_err();
    let headers = rejected.request_headers.expect("request headers kept");
    let answer =
        parley_sip::response::response_from_headers(&headers, 400, "Bad Request", Some("t1"));
    let text = String::from_utf8(answer.to_bytes().to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 400 Bad Request\r\n"));
    assert!(text.contains("Call-ID: ltgtruri.1@192.0.2.5\r\n"));
    assert!(text.contains("To: sip:user@example.com;tag=t1\r\n"));
    // Responses are never answered.
    let big = all.iter().find(|m| m.name == "bigcode").unwrap();
    let r = Message::parse(Bytes::copy_from_slice(&big.bytes), &Limits::default()).unwrap_err();
    assert!(r.request_headers.is_none());
}

#[test]
fn limits_are_enforced() {
    let limits = Limits {
        max_message_size: 200,
        max_headers: 3,
        max_line_length: 40,
    };
    let many = b"OPTIONS sip:a SIP/2.0\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
    assert_eq!(
        Message::parse(Bytes::from_static(many), &limits)
            .unwrap_err()
            .error,
        ParseError::TooManyHeaders { limit: 3 }
    );
    let long = format!("OPTIONS sip:a SIP/2.0\r\nX: {}\r\n\r\n", "y".repeat(60));
    assert_eq!(
        Message::parse(Bytes::from(long), &limits)
            .unwrap_err()
            .error,
        ParseError::LineTooLong { limit: 40 }
    );
    let big = format!("OPTIONS sip:a SIP/2.0\r\nl: 300\r\n\r\n{}", "z".repeat(300));
    let r = Message::parse(Bytes::from(big), &limits).unwrap_err();
    assert_eq!(r.error, ParseError::TooLarge { limit: 200 });
    assert_eq!(r.error.status_code(), 513);
    assert!(r.request_headers.is_some(), "513 can still be answered");
}
