//! Comma-separated token lists: Require, Supported, Unsupported, Proxy-Require (option tags,
//! RFC 3261 §20.32), Allow, Allow-Events (RFC 6665 §8.2.2).

use crate::error::ParseError;
use crate::scan::trim;

/// Parses `token *(COMMA token)`; an empty value is an empty list.
pub fn parse_token_list<'a>(s: &'a str, header: &'static str) -> Result<Vec<&'a str>, ParseError> {
    if trim(s).is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|t| {
            let t = trim(t);
            if crate::scan::is_token(t) {
                Ok(t)
            } else {
                Err(ParseError::header(
                    header,
                    "not a comma-separated list of tokens",
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            parse_token_list("nothingSupportsThis, nothingSupportsThisEither", "Require").unwrap(),
            vec!["nothingSupportsThis", "nothingSupportsThisEither"]
        );
        assert!(parse_token_list("a,,b", "Require").is_err());
        assert!(parse_token_list("", "Supported").unwrap().is_empty());
    }
}
