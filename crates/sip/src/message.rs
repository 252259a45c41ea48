//! The SIP message (RFC 3261 §7): start line, header fields as received, body.
//!
//! [`Message::parse`] splits a datagram or one framed stream message into its parts and
//! validates the start line; typed header access parses a field only when asked.
//! [`Message::validate`] applies the checks a server makes before acting on a message.

use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::headers::{Header, Headers};
use crate::limits::Limits;
use crate::method::Method;
use crate::scan::{is_token, is_ws, parse_decimal};
use crate::uri::Uri;
use bytes::{BufMut, Bytes, BytesMut};

/// A parsed SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request(RequestLine),
    Response(StatusLine),
}

/// `Method SP Request-URI SP SIP/2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    pub method: Method,
    pub uri: Uri,
}

/// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub code: u16,
    /// UTF-8 reason phrase (RFC 3261 allows any UTF-8 text here).
    pub reason: Bytes,
}

/// A message that was refused, with its header fields when the start line was a request's:
/// enough to answer it (RFC 3261 §8.2.6 copies Via, From, To, Call-ID and CSeq).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub error: ParseError,
    pub request_headers: Option<Headers>,
}

impl From<ParseError> for Rejected {
    fn from(error: ParseError) -> Self {
        Rejected {
            error,
            request_headers: None,
        }
    }
}

const CRLF: &[u8] = b"\r\n";
const SIP_2_0: &str = "SIP/2.0";

impl Message {
    /// Parses one message from a datagram or a framed stream message.
    ///
    /// Empty lines before the start line are skipped (RFC 3261 §7.5). The body is
    /// `Content-Length` octets; octets after it are ignored (RFC 3261 §18.3, RFC 4475
    /// §3.1.1.8). Without `Content-Length` the body is the rest of the input, as on UDP.
    pub fn parse(data: Bytes, limits: &Limits) -> Result<Message, Rejected> {
        let start_off = data
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .ok_or(ParseError::Incomplete)?;
        let (head_end, body_start) = match crate::scan::find_double_crlf(&data[start_off..]) {
            Some(len) => (start_off + len, start_off + len + 4),
            // A datagram whose last header line lacks the empty line after it: the datagram's
            // end delimits the header section, so the sender can still be answered.
            None if data.ends_with(CRLF) && data.len() <= limits.max_message_size => {
                (data.len() - 2, data.len())
            }
            None if data.len() > limits.max_message_size => {
                return Err(ParseError::TooLarge {
                    limit: limits.max_message_size,
                }
                .into())
            }
            None => return Err(ParseError::Incomplete.into()),
        };

        let first_line_end = crate::scan::find_crlf(&data[start_off..head_end + 2])
            .map_or(head_end, |i| start_off + i);
        if first_line_end - start_off > limits.max_line_length {
            return Err(ParseError::LineTooLong {
                limit: limits.max_line_length,
            }
            .into());
        }
        let start_text = std::str::from_utf8(&data[start_off..first_line_end])
            .map_err(|_| ParseError::StartLine("not UTF-8"))?;
        let is_response = start_text.starts_with("SIP/");
        let start = parse_start_line(start_text);

        let headers = parse_headers(&data, first_line_end + 2, head_end + 2, limits);
        // A bad start line is the first thing wrong; answer it if the headers allow.
        let start = match (start, headers.as_ref()) {
            (Ok(start), _) => start,
            (Err(error), h) => {
                return Err(Rejected {
                    error,
                    request_headers: h.ok().filter(|_| !is_response).cloned(),
                })
            }
        };
        let headers = headers?;
        let partial = |error: ParseError| Rejected {
            request_headers: (!is_response).then(|| headers.clone()),
            error,
        };

        if data.len() > limits.max_message_size {
            return Err(partial(ParseError::TooLarge {
                limit: limits.max_message_size,
            }));
        }
        let body = match content_length(&headers, limits).map_err(&partial)? {
            Some(len) => {
                let end = body_start
                    .checked_add(len)
                    .filter(|&end| end <= data.len())
                    .ok_or_else(|| partial(ParseError::BodyTruncated))?;
                data.slice(body_start..end)
            }
            None => data.slice(body_start..),
        };
        Ok(Message {
            start,
            headers,
            body,
        })
    }

    /// A new request with no header fields.
    pub fn request(method: Method, uri: Uri) -> Message {
        Message {
            start: StartLine::Request(RequestLine { method, uri }),
            headers: Headers::with_capacity(10),
            body: Bytes::new(),
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request(_))
    }

    pub fn request_line(&self) -> Option<&RequestLine> {
        match &self.start {
            StartLine::Request(r) => Some(r),
            StartLine::Response(_) => None,
        }
    }

    pub fn method(&self) -> Option<&Method> {
        self.request_line().map(|r| &r.method)
    }

    pub fn uri(&self) -> Option<&Uri> {
        self.request_line().map(|r| &r.uri)
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response(s) => Some(s.code),
            StartLine::Request(_) => None,
        }
    }

    /// Replaces the body and sets `Content-Type` and `Content-Length` to match.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Bytes>) {
        self.body = body.into();
        self.headers.set(
            HeaderName::ContentType,
            Bytes::copy_from_slice(content_type.as_bytes()),
        );
        self.set_content_length();
    }

    /// Sets `Content-Length` to the body's length.
    pub fn set_content_length(&mut self) {
        let len = if self.body.is_empty() {
            Bytes::from_static(b"0")
        } else {
            let mut len = String::with_capacity(8);
            crate::print::push_decimal(&mut len, self.body.len() as u64);
            Bytes::from(len)
        };
        self.headers.set(HeaderName::ContentLength, len);
    }

    /// Prints the message in wire form. Known header names print in their long form.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(256 + self.body.len() + self.headers.len() * 48);
        match &self.start {
            StartLine::Request(r) => {
                out.put_slice(r.method.as_str().as_bytes());
                out.put_u8(b' ');
                // Infallible: BytesMut grows as needed.
                let _ = std::fmt::Write::write_fmt(out, format_args!("{}", r.uri));
                out.put_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response(s) => {
                out.put_slice(b"SIP/2.0 ");
                out.put_slice(&status_digits(s.code));
                out.put_u8(b' ');
                out.put_slice(&s.reason);
                out.put_slice(CRLF);
            }
        }
        for h in &self.headers {
            out.put_slice(h.name.as_bytes());
            out.put_slice(b": ");
            out.put_slice(&h.value);
            out.put_slice(CRLF);
        }
        out.put_slice(CRLF);
        out.put_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.write_to(&mut out);
        out.freeze()
    }
}

/// The three digits of a status code (the parser only admits 100..=699).
fn status_digits(code: u16) -> [u8; 3] {
    let digit = |v: u16| b'0' + u8::try_from(v % 10).unwrap_or(0);
    [digit(code / 100), digit(code / 10), digit(code)]
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        let (version, rest) = rest
            .split_once(' ')
            .ok_or(ParseError::StartLine("no status code"))?;
        if version != "2.0" {
            return Err(ParseError::Version);
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 {
            return Err(ParseError::StatusCode);
        }
        let code = parse_decimal(code, 699)
            .filter(|&c| c >= 100)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(ParseError::StatusCode)?;
        if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(ParseError::StartLine("control character in reason phrase"));
        }
        return Ok(StartLine::Response(StatusLine {
            code,
            reason: Bytes::copy_from_slice(reason.as_bytes()),
        }));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::StartLine(
            "request line must be method, Request-URI and version separated by single spaces",
        ));
    };
    let method = Method::parse(method).ok_or(ParseError::StartLine("method is not a token"))?;
    if !version.eq_ignore_ascii_case(SIP_2_0) {
        let looks_like_sip = version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
        return Err(if looks_like_sip {
            ParseError::Version
        } else {
            ParseError::StartLine("no SIP version")
        });
    }
    if uri.starts_with('<') {
        return Err(ParseError::RequestUri("enclosed in <>"));
    }
    if uri.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(ParseError::RequestUri(
            "contains whitespace or control characters",
        ));
    }
    let uri = Uri::parse(uri).map_err(|_| ParseError::RequestUri("does not parse as a URI"))?;
    if uri.as_sip().is_some_and(|u| !u.headers.is_empty()) {
        // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI.
        return Err(ParseError::RequestUri("headers are not allowed"));
    }
    Ok(StartLine::Request(RequestLine { method, uri }))
}

/// Parses header field lines in `data[from..to]` (each ending in CRLF), unfolding
/// continuation lines (RFC 3261 §7.3.1).
fn parse_headers(
    data: &Bytes,
    from: usize,
    to: usize,
    limits: &Limits,
) -> Result<Headers, ParseError> {
    let mut headers = Headers::with_capacity(16);
    let mut pos = from;
    // The field being assembled: name, value range, and the unfolded copy once it folds.
    let mut current: Option<(HeaderName, usize, usize, Option<BytesMut>)> = None;
    while pos < to {
        let line_end = crate::scan::find_crlf(&data[pos..to]).map_or(to, |i| pos + i);
        let line = &data[pos..line_end];
        if line.len() > limits.max_line_length {
            return Err(ParseError::LineTooLong {
                limit: limits.max_line_length,
            });
        }
        if line.first().copied().is_some_and(is_ws) {
            let Some((_, start, end, folded)) = current.as_mut() else {
                return Err(ParseError::HeaderLine);
            };
            let cont = trim_ws(line);
            if !cont.is_empty() {
                let buf = folded.get_or_insert_with(|| {
                    let mut b = BytesMut::with_capacity(2 * (*end - *start) + cont.len());
                    b.put_slice(trim_ws(&data[*start..*end]));
                    b
                });
                if !buf.is_empty() {
                    buf.put_u8(b' ');
                }
                buf.put_slice(cont);
                if buf.len() > limits.max_line_length {
                    return Err(ParseError::LineTooLong {
                        limit: limits.max_line_length,
                    });
                }
            }
        } else {
            if let Some(done) = current.take() {
                finish_header(&mut headers, data, done, limits)?;
            }
            let colon = memchr::memchr(b':', line).ok_or(ParseError::HeaderLine)?;
            let name = trim_end_ws(&line[..colon]);
            if name.is_empty() || !name.iter().all(|&b| crate::scan::is_token_char(b)) {
                return Err(ParseError::HeaderLine);
            }
            let name_start = pos + (name.as_ptr() as usize - line.as_ptr() as usize);
            let name = HeaderName::from_bytes(data.slice(name_start..name_start + name.len()));
            current = Some((name, pos + colon + 1, line_end, None));
        }
        pos = line_end + 2;
    }
    if let Some(done) = current.take() {
        finish_header(&mut headers, data, done, limits)?;
    }
    Ok(headers)
}

fn finish_header(
    headers: &mut Headers,
    data: &Bytes,
    (name, start, end, folded): (HeaderName, usize, usize, Option<BytesMut>),
    limits: &Limits,
) -> Result<(), ParseError> {
    if headers.len() >= limits.max_headers {
        return Err(ParseError::TooManyHeaders {
            limit: limits.max_headers,
        });
    }
    let value = match folded {
        Some(buf) => buf.freeze(),
        None => {
            let raw = &data[start..end];
            let lead = raw.iter().take_while(|&&b| is_ws(b)).count();
            let trail = raw[lead..].iter().rev().take_while(|&&b| is_ws(b)).count();
            data.slice(start + lead..end - trail)
        }
    };
    headers.push_header(Header { name, value });
    Ok(())
}

fn trim_ws(b: &[u8]) -> &[u8] {
    let lead = b.iter().take_while(|&&c| is_ws(c)).count();
    trim_end_ws(&b[lead..])
}

fn trim_end_ws(b: &[u8]) -> &[u8] {
    let trail = b.iter().rev().take_while(|&&c| is_ws(c)).count();
    &b[..b.len() - trail]
}

/// The declared body length: `None` without the header; an error for more than one
/// (RFC 4475 §3.3.9) or a malformed value (RFC 4475 §3.1.2.3).
pub(crate) fn content_length(
    headers: &Headers,
    limits: &Limits,
) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    for h in headers.all(&HeaderName::ContentLength) {
        if found.is_some() {
            return Err(ParseError::Duplicate("Content-Length"));
        }
        let v = h
            .value_str()
            .and_then(|s| parse_decimal(s, u64::MAX))
            .ok_or(ParseError::header(
                "Content-Length",
                "not a non-negative number",
            ))?;
        if v > limits.max_message_size as u64 {
            return Err(ParseError::TooLarge {
                limit: limits.max_message_size,
            });
        }
        found = Some(usize::try_from(v).map_err(|_| ParseError::TooLarge {
            limit: limits.max_message_size,
        })?);
    }
    Ok(found)
}

/// A response line. Panics never: codes outside 100..=699 are a caller bug caught in debug.
pub fn status_line(code: u16, reason: &str) -> StartLine {
    debug_assert!((100..=699).contains(&code));
    StartLine::Response(StatusLine {
        code,
        reason: Bytes::copy_from_slice(reason.as_bytes()),
    })
}

/// Whether `s` is a valid token (exposed for header builders).
pub fn valid_token(s: &str) -> bool {
    is_token(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_text_where_the_version_belongs() {
        // Found by cargo fuzz: slicing the version at byte 4 split a UTF-8 character.
        let data = Bytes::from("P 192.0.2.198 2ост\r\nVia: x\r\n\r\n");
        let r = Message::parse(data, &Limits::default()).unwrap_err();
        assert_eq!(r.error, ParseError::StartLine("no SIP version"));
    }
}
