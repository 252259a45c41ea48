//! What was wrong with a message, and whose fault it is.

/// A message that could not be accepted. Every variant is the sender's fault: the server answers
/// it with [`ParseError::status_code`] and the reason phrase [`ParseError::reason_phrase`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message larger than {limit} octets")]
    TooLarge { limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("line longer than {limit} octets")]
    LineTooLong { limit: usize },
    #[error("no empty line after the header fields")]
    Incomplete,
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    #[error("status code out of range")]
    StatusCode,
    #[error("unsupported SIP version")]
    Version,
    #[error("malformed Request-URI: {0}")]
    RequestUri(&'static str),
    #[error("malformed header field line (no colon after a token name)")]
    HeaderLine,
    #[error("malformed {header} header: {reason}")]
    Header {
        header: &'static str,
        reason: &'static str,
    },
    #[error("body shorter than Content-Length")]
    BodyTruncated,
    #[error("Content-Length missing on a stream transport")]
    NoContentLength,
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("more than one {0} header")]
    Duplicate(&'static str),
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
}

impl ParseError {
    /// The response a server sends for this error (RFC 3261 §21): `513` for an oversize
    /// message, `505` for another SIP version, `400` for everything else.
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::TooLarge { .. } => 513,
            ParseError::Version => 505,
            _ => 400,
        }
    }

    /// A reason phrase that tells the sender what to fix.
    pub fn reason_phrase(&self) -> String {
        match self.status_code() {
            513 => "Message Too Large".to_owned(),
            505 => "Version Not Supported".to_owned(),
            _ => format!("Bad Request ({self})"),
        }
    }

    pub(crate) fn header(header: &'static str, reason: &'static str) -> Self {
        ParseError::Header { header, reason }
    }
}
