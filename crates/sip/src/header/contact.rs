//! `Contact` (RFC 3261 §20.10): `*` or a list of addresses with `q` and `expires`.

use super::name_addr::{NameAddr, NameAddrText};
use super::params::Params;
use crate::error::ParseError;
use crate::scan::trim;

/// A `Contact` field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *`, valid only in REGISTER with `Expires: 0`.
    Star,
    Addresses(Vec<NameAddr<'a>>),
}

impl<'a> Contact<'a> {
    pub fn parse(s: &'a str) -> Result<Contact<'a>, ParseError> {
        if trim(s) == "*" {
            return Ok(Contact::Star);
        }
        let list = NameAddr::parse_list(s, "Contact").collect::<Result<Vec<_>, _>>()?;
        for c in &list {
            if let Some(q) = c.params.get("q") {
                q.and_then(parse_q)
                    .ok_or(ParseError::header("Contact", "q is not a qvalue"))?;
            }
        }
        Ok(Contact::Addresses(list))
    }
}

impl Contact<'_> {
    /// Whether a `Contact` value passes [`Contact::parse`] and every address's
    /// [`contact_expires`], with the same error, without building the addresses: a malformed
    /// address anywhere comes first, then the first bad `q`, then the first bad `expires`.
    pub fn check(s: &str) -> Result<(), ParseError> {
        if trim(s) == "*" {
            return Ok(());
        }
        let bad_q = ParseError::header("Contact", "q is not a qvalue");
        let bad_expires = ParseError::header("Contact", "expires is not a number of seconds");
        let (mut q_wrong, mut expires_wrong) = (false, false);
        for part in crate::scan::split_top_level(s, b',') {
            let part =
                part.map_err(|_| ParseError::header("Contact", "unbalanced quotes or <>"))?;
            let text = NameAddrText::split(part, "Contact")?;
            crate::uri::Uri::check(text.uri)
                .map_err(|_| ParseError::header("Contact", "malformed URI"))?;
            // The first `q` and `expires` are the ones that count, as in `Params::get`.
            let (mut q, mut expires) = (None, None);
            Params::scan(text.params, |name, value| {
                if q.is_none() && name.eq_ignore_ascii_case("q") {
                    q = Some(value);
                } else if expires.is_none() && name.eq_ignore_ascii_case("expires") {
                    expires = Some(value);
                }
            })
            .map_err(|_| ParseError::header("Contact", "malformed parameter"))?;
            q_wrong |= q.is_some_and(|q| q.and_then(parse_q).is_none());
            expires_wrong |= expires.is_some_and(|v| {
                v.and_then(|v| crate::scan::parse_decimal(v, u64::from(u32::MAX)))
                    .is_none()
            });
        }
        match (q_wrong, expires_wrong) {
            (true, _) => Err(bad_q),
            (false, true) => Err(bad_expires),
            (false, false) => Ok(()),
        }
    }
}

/// The `expires` parameter of a contact; values beyond 2^32-1 are malformed.
pub fn contact_expires(c: &NameAddr<'_>) -> Result<Option<u32>, ParseError> {
    c.params
        .get("expires")
        .map(|v| {
            v.and_then(|v| crate::scan::parse_decimal(v, u64::from(u32::MAX)))
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(ParseError::header(
                    "Contact",
                    "expires is not a number of seconds",
                ))
        })
        .transpose()
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
pub fn parse_q(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_list() {
        assert_eq!(Contact::parse(" * "), Ok(Contact::Star));
        let Contact::Addresses(l) =
            Contact::parse("<sip:a@h1>;q=0.7;expires=60, sip:b@h2;q=1").unwrap()
        else {
            panic!("expected addresses")
        };
        assert_eq!(l.len(), 2);
        assert_eq!(contact_expires(&l[0]), Ok(Some(60)));
        assert_eq!(parse_q("0.7"), Some(700));
        assert_eq!(parse_q("1.5"), None);
        assert!(Contact::parse("<sip:a@h>;expires=280297596632815")
            .map(|c| match c {
                Contact::Addresses(l) => contact_expires(&l[0]).is_err(),
                Contact::Star => false,
            })
            .unwrap());
    }
}
