//! Message framing on stream transports (RFC 3261 §18.3): `Content-Length` is mandatory and
//! delimits the body; CRLF keep-alives between messages (RFC 5626 §3.5.1) are recognised.

use crate::error::ParseError;
use crate::limits::Limits;
use crate::scan::{is_ws, parse_decimal, trim};
use bytes::{Bytes, BytesMut};

/// What the next bytes on a stream hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole message, ready for [`crate::Message::parse`].
    Message(Bytes),
    /// A double-CRLF keep-alive ping: answer with a single CRLF (RFC 5626 §4.4.1).
    Ping,
}

/// A framing error ends the connection: the rest of the stream cannot be delimited. `partial`
/// holds the bytes seen so far so the sender can still be told why (RFC 4475 §3.3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError {
    pub error: ParseError,
    pub partial: Bytes,
}

/// Accumulates stream bytes and cuts them into frames.
///
/// Feed received bytes into [`StreamFramer::buffer_mut`] (or [`StreamFramer::push`]) and call
/// [`StreamFramer::next_frame`] until it returns `Ok(None)`.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
}

impl StreamFramer {
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::with_capacity(4096),
            limits,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, to read into directly.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Octets received but not yet framed.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        // Keep-alives and stray CRLFs between messages.
        while self.buf.starts_with(b"\r\n") {
            if self.buf.starts_with(b"\r\n\r\n") {
                let _ = self.buf.split_to(4);
                return Ok(Some(Frame::Ping));
            }
            if self.buf.len() < 4 && self.buf.iter().all(|&b| b == b'\r' || b == b'\n') {
                return Ok(None);
            }
            let _ = self.buf.split_to(2);
        }
        let max = self.limits.max_message_size;
        let Some(head_len) = crate::scan::find_double_crlf(&self.buf) else {
            if self.buf.len() > max {
                return Err(self.fail(ParseError::TooLarge { limit: max }));
            }
            return Ok(None);
        };
        let body_len = match declared_length(&self.buf[..head_len]) {
            Ok(Some(len)) => len,
            Ok(None) => return Err(self.fail(ParseError::NoContentLength)),
            Err(e) => return Err(self.fail(e)),
        };
        let total = head_len + 4 + body_len;
        if total > max {
            return Err(self.fail(ParseError::TooLarge { limit: max }));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        Ok(Some(Frame::Message(self.buf.split_to(total).freeze())))
    }

    fn fail(&mut self, error: ParseError) -> FramingError {
        let partial = self.buf.split().freeze();
        FramingError { error, partial }
    }
}

/// The Content-Length of a header section (its long or compact `l` name, any case).
fn declared_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().copied().is_some_and(is_ws) {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = &line[..colon];
        let name = &name[..name.len() - name.iter().rev().take_while(|&&b| is_ws(b)).count()];
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        if found.is_some() {
            return Err(ParseError::Duplicate("Content-Length"));
        }
        let value = std::str::from_utf8(&line[colon + 1..])
            .ok()
            .and_then(|v| parse_decimal(trim(v), u64::from(u32::MAX)))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or(ParseError::header(
                "Content-Length",
                "not a non-negative number",
            ))?;
        found = Some(value);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:x SIP/2.0\r\nl: 5\r\n\r\nhello";

    #[test]
    fn frames_split_across_reads_and_keepalives() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"\r\n\r\n");
        assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
        f.push(&MSG[..10]);
        assert_eq!(f.next_frame(), Ok(None));
        f.push(&MSG[10..]);
        f.push(MSG);
        assert_eq!(
            f.next_frame(),
            Ok(Some(Frame::Message(Bytes::from_static(MSG))))
        );
        assert_eq!(
            f.next_frame(),
            Ok(Some(Frame::Message(Bytes::from_static(MSG))))
        );
        assert_eq!(f.next_frame(), Ok(None));
    }

    #[test]
    fn duplicate_or_missing_length_is_fatal() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 13\r\nl: 5\r\n\r\nabc");
        assert_eq!(
            f.next_frame().map_err(|e| e.error),
            Err(ParseError::Duplicate("Content-Length"))
        );
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        assert_eq!(
            f.next_frame().map_err(|e| e.error),
            Err(ParseError::NoContentLength)
        );
    }

    #[test]
    fn oversize_is_refused_before_buffering_it_all() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:x SIP/2.0\r\nl: 999999\r\n\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(FramingError {
                error: ParseError::TooLarge { .. },
                ..
            })
        ));
    }
}
