//! The typical SIMPLE requests used by benchmarks and tests are themselves valid: each parses,
//! validates, and its body is exactly its Content-Length.

use bytes::Bytes;
use parley_sip::{Limits, Message};
use parley_test_support::fixtures;

#[test]
fn fixtures_are_valid_messages() {
    for (name, bytes) in [
        ("REGISTER", fixtures::REGISTER),
        ("MESSAGE", fixtures::MESSAGE),
        ("PUBLISH", fixtures::PUBLISH),
        ("NOTIFY", fixtures::NOTIFY),
    ] {
        let m = Message::parse(Bytes::from_static(bytes), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {:?}", e.error));
        m.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let body_at = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(
            m.body.len(),
            bytes.len() - body_at,
            "{name}: Content-Length"
        );
    }
}
