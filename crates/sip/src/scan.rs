//! Lexical helpers shared by the parsers: the character classes and list splitting of
//! RFC 3261 §25.1.

/// The index of the first CRLF in `b`.
pub(crate) fn find_crlf(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &b[from..]) {
        let at = from + i;
        if at > 0 && b[at - 1] == b'\r' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

/// The index of the first empty line (CRLF CRLF) in `b`, with the searcher built once.
pub(crate) fn find_double_crlf(b: &[u8]) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    FINDER.find(b)
}

byte_class! {
    /// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
    pub(crate) fn is_token_char = token_char;
}

pub(crate) const fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

byte_class! {
    /// `word` characters (Call-ID): token characters plus the separators RFC 3261 allows there.
    pub(crate) fn is_word_char = word_char;
}

const fn word_char(b: u8) -> bool {
    token_char(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing spaces and tabs. Byte-wise: a char-pattern trim decodes
/// UTF-8 and costs several times more on the short values of every header.
pub(crate) fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_ws(c)).map_or(start, |i| i + 1);
    // Spaces and tabs are ASCII, so both ends fall on character boundaries.
    s.get(start..end).unwrap_or_default()
}

/// The index of the first `byte` (ASCII) in `s`. The parsers look for one ASCII delimiter at
/// a time in short strings, where `str::find(char)`'s searcher costs more than the search.
/// Short strings (most URI parts) are scanned byte by byte: below a few dozen bytes that beats
/// `memchr`'s dispatch to its vector code.
pub(crate) fn find_byte(s: &str, byte: u8) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < SHORT {
        b.iter().position(|&c| c == byte)
    } else {
        memchr::memchr(byte, b)
    }
}

/// The index of the last `byte` (ASCII) in `s`.
pub(crate) fn rfind_byte(s: &str, byte: u8) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < SHORT {
        b.iter().rposition(|&c| c == byte)
    } else {
        memchr::memrchr(byte, b)
    }
}

/// Below this length a byte loop finds a delimiter sooner than `memchr`.
const SHORT: usize = 48;

/// `s` split at the first `byte` (ASCII), which belongs to neither part.
pub(crate) fn split_at_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, byte)?;
    // An ASCII byte is always a character boundary.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Splits `s` at every `byte` (ASCII), like `str::split` with a char but byte-wise.
pub(crate) fn split_byte(s: &str, byte: u8) -> SplitByte<'_> {
    SplitByte {
        rest: Some(s),
        byte,
    }
}

#[derive(Debug)]
pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    byte: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match split_at_byte(s, self.byte) {
            Some((part, rest)) => {
                self.rest = Some(rest);
                Some(part)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

/// Splits `s` at every top-level `sep`: separators inside quoted strings (with `\` escapes)
/// or inside `<...>` do not count. Fails on an unterminated quoted string or `<`.
pub(crate) fn split_top_level(s: &str, sep: u8) -> SplitTopLevel<'_> {
    SplitTopLevel { rest: Some(s), sep }
}

#[derive(Debug)]
pub(crate) struct SplitTopLevel<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

/// An unterminated quoted string or angle bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unbalanced;

impl<'a> Iterator for SplitTopLevel<'a> {
    type Item = Result<&'a str, Unbalanced>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest?;
        match find_top_level(s, self.sep) {
            Ok(Some(i)) => {
                self.rest = Some(&s[i + 1..]);
                Some(Ok(&s[..i]))
            }
            Ok(None) => {
                self.rest = None;
                Some(Ok(s))
            }
            Err(e) => {
                self.rest = None;
                Some(Err(e))
            }
        }
    }
}

/// Index of the first top-level `sep` in `s`. Jumps from one byte that matters (a quote, `<`,
/// `sep`; inside `<...>` only `>`) to the next with `memchr`, instead of matching every byte.
pub(crate) fn find_top_level(s: &str, sep: u8) -> Result<Option<usize>, Unbalanced> {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        let Some(k) = memchr::memchr3(b'"', b'<', sep, &b[i..]) else {
            return Ok(None);
        };
        i += k;
        match b[i] {
            b'"' => i = end_of_quoted(b, i)?,
            b'<' => {
                let close = memchr::memchr(b'>', &b[i + 1..]).ok_or(Unbalanced)?;
                i += close + 2;
            }
            _ => return Ok(Some(i)),
        }
    }
}

/// Given `b[start] == b'"'`, the index just past the closing quote.
pub(crate) fn end_of_quoted(b: &[u8], start: usize) -> Result<usize, Unbalanced> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(Unbalanced)
}

/// Parses a decimal number of at most `max`, rejecting empty input, signs and overflow.
pub(crate) fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    (v <= max).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_inside_quotes_and_angles_do_not_split() {
        let parts: Vec<_> = split_top_level(r#""a, \"b" <sip:x@y;p=1,2>;q=1, <sip:z>"#, b',')
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parts, vec![r#""a, \"b" <sip:x@y;p=1,2>;q=1"#, " <sip:z>"]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(split_top_level(r#""abc <sip:x>"#, b',').any(|r| r.is_err()));
        assert!(split_top_level("<sip:x", b',').any(|r| r.is_err()));
    }

    /// The byte-by-byte scan `find_top_level` replaced, as the reference.
    fn find_top_level_by_byte(s: &str, sep: u8) -> Result<Option<usize>, Unbalanced> {
        let b = s.as_bytes();
        let (mut i, mut in_angle) = (0, false);
        while i < b.len() {
            match b[i] {
                b'"' if !in_angle => {
                    i = end_of_quoted(b, i)?;
                    continue;
                }
                b'<' if !in_angle => in_angle = true,
                b'>' if in_angle => in_angle = false,
                c if c == sep && !in_angle => return Ok(Some(i)),
                _ => {}
            }
            i += 1;
        }
        if in_angle {
            Err(Unbalanced)
        } else {
            Ok(None)
        }
    }

    proptest::proptest! {
        #[test]
        fn top_level_search_agrees_with_the_byte_scan(s in "[a<>\"\\\\,; ]{0,24}") {
            for sep in [b',', b';'] {
                proptest::prop_assert_eq!(find_top_level(&s, sep), find_top_level_by_byte(&s, sep));
            }
        }
    }

    #[test]
    fn crlf_search_skips_bare_lf() {
        assert_eq!(find_crlf(b"ab\ncd\r\nef"), Some(5));
        assert_eq!(find_crlf(b"\nab"), None);
        assert_eq!(find_double_crlf(b"a\r\nb\r\n\r\nc"), Some(4));
    }

    #[test]
    fn decimal_bounds() {
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("300", 255), None);
        assert_eq!(parse_decimal("-1", 255), None);
        assert_eq!(parse_decimal("36893488147419103232", u64::MAX), None);
    }
}
