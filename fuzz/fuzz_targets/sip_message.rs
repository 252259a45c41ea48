//! Round trip: any datagram that parses and validates prints to bytes that parse to the same
//! message; nothing panics on the way.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parley_sip::{Limits, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(msg) = Message::parse(Bytes::copy_from_slice(data), &limits) else {
        return;
    };
    let valid = msg.validate().is_ok();
    let printed = msg.to_bytes();
    let again = Message::parse(printed, &limits).map_err(|r| r.error);
    if valid {
        assert_eq!(again.as_ref(), Ok(&msg), "print then parse changed a valid message");
    }
});
