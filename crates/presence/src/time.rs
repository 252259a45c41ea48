//! `xs:dateTime` values as PIDF uses them (RFC 3863 §4.1.7 `<timestamp>`, RFC 4480 `from` /
//! `until`, RFC 4481 timed status): the text is kept as sent, and its instant is computed for
//! comparisons. Time is never read from a clock here: callers pass Unix milliseconds in.

use std::fmt;

use crate::error::ParseError;

/// Milliseconds since the Unix epoch (UTC). All "now" arguments of this crate are in this unit.
pub type UnixMillis = i64;

/// An `xs:dateTime` with its original spelling and the instant it denotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    millis: UnixMillis,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]`. A value without a zone is taken as UTC.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let t = text.trim();
        let millis = parse_millis(t).ok_or_else(|| ParseError::InvalidValue {
            what: "dateTime",
            value: truncate(t),
        })?;
        Ok(Self {
            text: t.to_owned(),
            millis,
        })
    }

    /// The instant `millis`, spelt `YYYY-MM-DDThh:mm:ss.sssZ`.
    pub fn from_unix_millis(millis: UnixMillis) -> Self {
        let secs = millis.div_euclid(1000);
        let ms = millis.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        );
        Self { text, millis }
    }

    /// The instant, in Unix milliseconds.
    pub fn unix_millis(&self) -> UnixMillis {
        self.millis
    }

    /// The text as it was sent (trimmed), or as generated.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Error values quote at most 64 characters of the offending input.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn digits(s: &str, n: usize) -> Option<(i64, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

fn expect(s: &str, c: char) -> Option<&str> {
    s.strip_prefix(c)
}

fn parse_millis(s: &str) -> Option<UnixMillis> {
    let (year, s) = digits(s, 4)?;
    let (month, s) = digits(expect(s, '-')?, 2)?;
    let (day, s) = digits(expect(s, '-')?, 2)?;
    let (hour, s) = digits(expect(s, 'T').or_else(|| s.strip_prefix('t'))?, 2)?;
    let (minute, s) = digits(expect(s, ':')?, 2)?;
    let (second, mut s) = digits(expect(s, ':')?, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 24:00:00 is allowed by xs:dateTime as the end of the day.
    if hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute, second) != (0, 0)) {
        return None;
    }
    let mut ms = 0i64;
    if let Some(rest) = s.strip_prefix('.') {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 12 {
            return None;
        }
        for (i, b) in rest.bytes().take(3).enumerate().take(n) {
            ms += i64::from(b - b'0') * [100, 10, 1][i];
        }
        s = &rest[n..];
    }
    let offset_min = match s {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match s.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, rest) = digits(&s[1..], 2)?;
            let (om, rest) = digits(expect(rest, ':')?, 2)?;
            if !rest.is_empty() || oh > 14 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_min * 60;
    Some(secs * 1000 + ms)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zones_and_fractions() {
        let a = Timestamp::parse("2005-05-30T16:09:44+05:00").unwrap();
        let b = Timestamp::parse("2005-05-30T11:09:44Z").unwrap();
        assert_eq!(a.unix_millis(), b.unix_millis());
        assert_eq!(b.unix_millis(), 1_117_451_384_000);
        let c = Timestamp::parse("2005-08-15T10:20:00.000-05:00").unwrap();
        assert_eq!(
            c.unix_millis(),
            Timestamp::parse("2005-08-15T15:20:00Z")
                .unwrap()
                .unix_millis()
        );
        assert_eq!(
            Timestamp::parse("2001-10-27T16:49:29.5")
                .unwrap()
                .unix_millis()
                % 1000,
            500
        );
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "yesterday",
            "2005-13-01T00:00:00Z",
            "2005-02-30T00:00:00Z",
            "2005-01-01T00:00:00+1",
            "2005-01-01 00:00:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_text_round_trips() {
        for ms in [0, 1_117_451_384_123, -86_400_000, 4_102_444_800_000] {
            let t = Timestamp::from_unix_millis(ms);
            assert_eq!(Timestamp::parse(t.as_str()).unwrap(), t);
        }
        assert_eq!(
            Timestamp::from_unix_millis(0).as_str(),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
