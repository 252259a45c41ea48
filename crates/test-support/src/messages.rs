//! Building test messages from literal text, the way they appear on the wire.

use bytes::Bytes;
use parley_sip::{Limits, Message};

/// Parses `text` as one SIP message.
///
/// # Panics
/// If it does not parse: a test's literal message is wrong.
pub fn parse(text: &[u8]) -> Message {
    match Message::parse(Bytes::copy_from_slice(text), &Limits::default()) {
        Ok(m) => m,
        Err(rejected) => panic!(
            "test message does not parse: {}\n{}",
            rejected.error,
            String::from_utf8_lossy(text)
        ),
    }
}

/// A request as a UAC's core hands it to its endpoint: no Via (the endpoint adds it),
/// `From` with a tag, `Max-Forwards: 70`, no body. `target` is the Request-URI and To.
pub fn uac_request(method: &str, target: &str, call_id: &str, cseq: u32) -> Message {
    let text = format!(
        "{method} {target} SIP/2.0\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.test>;tag=a73kszlfl\r\n\
         To: <{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse(text.as_bytes())
}
