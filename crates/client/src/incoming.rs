//! Messages received (RFC 3428 §7: a UAS answers a MESSAGE with a final response and hands the
//! body to its user) and how they are shown: one line per message, sender and time first.

use bytes::Bytes;
use parley_sip::header::date::parse_date;
use parley_sip::{HeaderName, Message, Uri};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A MESSAGE request delivered to this user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The sender: `user@host` of the From URI (the URI as text when it is not SIP).
    pub from: String,
    /// The From display name, if any.
    pub display_name: Option<String>,
    /// `Content-Type`, `text/plain` when absent (RFC 3428 §4 requires it; be lenient).
    pub content_type: String,
    pub body: Bytes,
    /// The `Date` header (RFC 3261 §20.17): when the sender sent it. A server that stored
    /// the message for later delivery sets it to the original time.
    pub date: Option<SystemTime>,
    /// When it arrived here.
    pub received_at: SystemTime,
}

impl IncomingMessage {
    /// Reads a received MESSAGE request.
    pub fn from_request(request: &Message, received_at: SystemTime) -> IncomingMessage {
        let (from, display_name) = match request.from_header() {
            Ok(from) => (
                address_text(&from.uri),
                from.display
                    .map(|d| d.trim().trim_matches('"').to_owned())
                    .filter(|d| !d.is_empty()),
            ),
            Err(_) => ("unknown".to_owned(), None),
        };
        let content_type = request
            .headers
            .get_str(&HeaderName::ContentType)
            .map_or_else(|| "text/plain".to_owned(), str::to_owned);
        let date = request
            .headers
            .get_str(&HeaderName::Date)
            .and_then(|d| parse_date(d).ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        IncomingMessage {
            from,
            display_name,
            content_type,
            body: request.body.clone(),
            date,
            received_at,
        }
    }

    /// The time to show: when it was sent if the sender or server said so, else arrival.
    pub fn time(&self) -> SystemTime {
        self.date.unwrap_or(self.received_at)
    }

    /// Whether the body is text to print (`text/*`, or a `message/cpim` wrapper).
    pub fn is_text(&self) -> bool {
        let media = self.content_type.to_ascii_lowercase();
        media.starts_with("text/") || media.starts_with("message/cpim")
    }

    /// `2026-11-22T09:15:00Z alice@example.test: hello`. Further lines of the body are
    /// indented by two spaces so that each message starts a line of its own; a trailing
    /// newline is dropped; control characters are shown escaped, never sent to the terminal.
    /// A body that is not text is summarised as `[type, N bytes]`.
    pub fn display_line(&self) -> String {
        let mut line = format!("{} {}", format_utc(self.time()), self.from);
        line.push_str(": ");
        if !self.is_text() {
            line.push_str(&format!(
                "[{}, {} bytes]",
                self.content_type,
                self.body.len()
            ));
            return line;
        }
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim_end_matches(['\r', '\n']);
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                line.push_str("\n  ");
            }
            push_printable(&mut line, part.strip_suffix('\r').unwrap_or(part));
        }
        line
    }
}

/// `user@host` for a SIP URI, the URI itself otherwise.
fn address_text(uri: &Uri) -> String {
    match uri {
        Uri::Sip(sip) => match &sip.user {
            Some(user) => format!("{}@{}", parley_sip::uri::unescape(user), sip.host),
            None => sip.host.to_string(),
        },
        other => other.to_string(),
    }
}

/// Appends `text` with control characters (other than tab) escaped as `\u{..}`.
fn push_printable(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC). Times before 1970 show as the epoch.
pub fn format_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_sip::Limits;

    fn request(extra: &str, body: &str) -> Message {
        let text = format!(
            "MESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: \"Alice A.\" <sip:alice@example.test>;tag=1\r\nTo: <sip:bob@example.test>\r\n\
             Call-ID: c\r\nCSeq: 1 MESSAGE\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn utc_times() {
        assert_eq!(format_utc(at(0)), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(at(1_289_690_940)), "2010-11-13T23:29:00Z");
        assert_eq!(format_utc(at(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_text_message_is_one_line_with_sender_and_time() {
        let r = request("Content-Type: text/plain;charset=UTF-8\r\n", "héllo ✓\n");
        let m = IncomingMessage::from_request(&r, at(1_289_690_940));
        assert_eq!(m.from, "alice@example.test");
        assert_eq!(m.display_name.as_deref(), Some("Alice A."));
        assert_eq!(m.date, None);
        assert_eq!(
            m.display_line(),
            "2010-11-13T23:29:00Z alice@example.test: héllo ✓"
        );
    }

    #[test]
    fn the_date_header_gives_the_time_of_stored_messages() {
        let r = request(
            "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\nContent-Type: text/plain\r\n",
            "late",
        );
        let m = IncomingMessage::from_request(&r, at(2_000_000_000));
        assert_eq!(m.time(), at(1_289_690_940));
        assert!(m.display_line().starts_with("2010-11-13T23:29:00Z "));
    }

    #[test]
    fn several_lines_are_indented_and_control_characters_escaped() {
        let r = request("Content-Type: text/plain\r\n", "one\r\ntwo\x1b[31m\n");
        let line = IncomingMessage::from_request(&r, at(0)).display_line();
        assert_eq!(
            line,
            "1970-01-01T00:00:00Z alice@example.test: one\n  two\\u{1b}[31m"
        );
    }

    #[test]
    fn other_bodies_are_summarised() {
        let r = request("Content-Type: application/octet-stream\r\n", "\x00\x01\x02");
        let m = IncomingMessage::from_request(&r, at(0));
        assert!(!m.is_text());
        assert_eq!(
            m.display_line(),
            "1970-01-01T00:00:00Z alice@example.test: [application/octet-stream, 3 bytes]"
        );
        // No Content-Type: taken as text.
        assert!(IncomingMessage::from_request(&request("", "hi"), at(0)).is_text());
    }
}
