//! Limits checked before anything proportional to the input is allocated.

/// Bounds on what one SIP message may contain.
///
/// The defaults follow what deployed servers accept: RFC 3261 §18.1.1 expects messages up to
/// 65,535 octets on UDP, and no real client sends more than a few dozen header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, start line to end of body, in octets (answered with `513`).
    pub max_message_size: usize,
    /// Largest number of header field lines.
    pub max_headers: usize,
    /// Largest single (unfolded) header field or start line, in octets.
    pub max_line_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 65_535,
            max_headers: 128,
            max_line_length: 8_192,
        }
    }
}
