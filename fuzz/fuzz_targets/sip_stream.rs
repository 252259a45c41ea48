//! Stream framing: arbitrary bytes cut into arbitrary reads never panic the framer, and every
//! frame it yields is at most the message size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_sip::{Frame, Limits, StreamFramer};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let mut framer = StreamFramer::new(limits);
    let step = 1 + usize::from(data.first().copied().unwrap_or(0) % 64);
    for chunk in data.chunks(step) {
        framer.push(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    assert!(m.len() <= limits.max_message_size);
                    let _ = parley_sip::Message::parse(m, &limits);
                }
                Ok(Some(Frame::Ping)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
