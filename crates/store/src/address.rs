//! Addresses of record: `user@domain`, as users are named in the CLI, the store and the
//! registrar (RFC 3261 §10.3 step 5: the AOR is the To URI's user and host).

use std::fmt;

/// Longest address accepted, in bytes.
pub const MAX_ADDRESS_LEN: usize = 256;

/// A validated `user@domain` address. The user part is case-sensitive (RFC 3261 §19.1.4);
/// the domain is stored lowercase. Ordered by its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    text: String,
    at: usize,
}

/// Why a string is not an [`Address`]. The caller's input is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("address must be user@domain")]
    MissingAt,
    #[error("address has an empty user part")]
    EmptyUser,
    #[error("address user part has a character not allowed in a SIP user")]
    BadUserChar,
    #[error("address domain is not a host name or IPv4 address")]
    BadDomain,
    #[error("address is longer than {MAX_ADDRESS_LEN} bytes")]
    TooLong,
}

impl Address {
    /// Parses `user@domain`. The user part may hold the unreserved and user-unreserved
    /// characters of RFC 3261 §25.1 (no `%`-escapes, no `:` or `@`); the domain is a host name
    /// or IPv4 address.
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        if s.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::TooLong);
        }
        let at = s.rfind('@').ok_or(AddressError::MissingAt)?;
        let (user, domain) = (&s[..at], &s[at + 1..]);
        if user.is_empty() {
            return Err(AddressError::EmptyUser);
        }
        if !user.bytes().all(is_user_char) {
            return Err(AddressError::BadUserChar);
        }
        let labels_ok = !domain.is_empty()
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(AddressError::BadDomain);
        }
        Ok(Address {
            text: format!("{user}@{}", domain.to_ascii_lowercase()),
            at,
        })
    }

    /// The user part.
    pub fn user(&self) -> &str {
        &self.text[..self.at]
    }

    /// The domain, lowercase.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }

    /// `user@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn is_user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b';'
                | b'?'
                | b'/'
        )
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Address, AddressError> {
        Address::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let a = Address::parse("Alice.B@Example.TEST").unwrap();
        assert_eq!(a.user(), "Alice.B");
        assert_eq!(a.domain(), "example.test");
        assert_eq!(a.to_string(), "Alice.B@example.test");
        assert!(Address::parse("bob@192.0.2.1").is_ok());
        for (bad, e) in [
            ("alice", AddressError::MissingAt),
            ("@example.test", AddressError::EmptyUser),
            ("sip:alice@example.test", AddressError::BadUserChar),
            ("al ice@example.test", AddressError::BadUserChar),
            ("a@b@example.test", AddressError::BadUserChar),
            ("alice@", AddressError::BadDomain),
            ("alice@-x.test", AddressError::BadDomain),
            ("alice@x..test", AddressError::BadDomain),
        ] {
            assert_eq!(Address::parse(bad), Err(e), "{bad}");
        }
        let long = format!("{}@example.test", "a".repeat(MAX_ADDRESS_LEN));
        assert_eq!(Address::parse(&long), Err(AddressError::TooLong));
    }
}
