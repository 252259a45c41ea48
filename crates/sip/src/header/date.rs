//! `Date` (RFC 3261 §20.17): an RFC 1123 date, always in GMT.

use crate::error::ParseError;
use crate::scan::trim;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses `Sat, 13 Nov 2010 23:29:00 GMT` into seconds since the Unix epoch. Any zone other
/// than `GMT` is an error (RFC 4475 §3.1.2.12).
pub fn parse_date(s: &str) -> Result<u64, ParseError> {
    let bad = || ParseError::header("Date", "not an RFC 1123 date in GMT");
    let s = trim(s);
    let (wkday, rest) = s.split_once(", ").ok_or_else(bad)?;
    if !DAYS.contains(&wkday) {
        return Err(bad());
    }
    let f: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = f.as_slice() else {
        return Err(bad());
    };
    let num = |t: &str, len: usize, max: u64| {
        (t.len() == len)
            .then(|| crate::scan::parse_decimal(t, max))
            .flatten()
            .ok_or_else(bad)
    };
    let day = num(day, 2, 31)?;
    let month = MONTHS.iter().position(|m| m == month).ok_or_else(bad)? as u64 + 1;
    let year = num(year, 4, 9999)?;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, sec] = hms.as_slice() else {
        return Err(bad());
    };
    let (h, m, sec) = (num(h, 2, 23)?, num(m, 2, 59)?, num(sec, 2, 60)?);
    if day == 0 || year < 1970 {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Formats seconds since the Unix epoch as an RFC 1123 date in GMT.
pub fn format_date(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, mo, d) = civil_from_days(days);
    // Both indices are reduced modulo 7 and 12 first, so they always fit.
    let wkday = DAYS[usize::try_from((days + 3) % 7).unwrap_or(0)];
    let month = MONTHS[usize::try_from((mo + 11) % 12).unwrap_or(0)];
    // Written digit by digit: a response carries a Date, and `format!` costs more than the
    // rest of this function.
    let mut out = String::with_capacity(29);
    let digits = |out: &mut String, n: u64, width: u32| {
        for i in (0..width).rev() {
            let d = n / 10u64.pow(i) % 10;
            out.push(char::from(b'0' + u8::try_from(d).unwrap_or(0)));
        }
    };
    out.push_str(wkday);
    out.push_str(", ");
    digits(&mut out, d, 2);
    out.push(' ');
    out.push_str(month);
    out.push(' ');
    if y > 9999 {
        crate::print::push_decimal(&mut out, y);
    } else {
        digits(&mut out, y, 4);
    }
    out.push(' ');
    digits(&mut out, secs / 3600, 2);
    out.push(':');
    digits(&mut out, secs / 60 % 60, 2);
    out.push(':');
    digits(&mut out, secs % 60, 2);
    out.push_str(" GMT");
    out
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm), for years from 1970.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: u64) -> (u64, u64, u64) {
    let z = z + 719_468;
    let era = z / 146_097;
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
    fn round_trip_and_zone() {
        let t = parse_date("Sat, 13 Nov 2010 23:29:00 GMT").unwrap();
        assert_eq!(t, 1_289_690_940);
        assert_eq!(format_date(t), "Sat, 13 Nov 2010 23:29:00 GMT");
        assert!(parse_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
    }
}
