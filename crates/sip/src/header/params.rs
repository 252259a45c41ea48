//! `*( SEMI generic-param )` lists (RFC 3261 §25.1), shared by most typed headers.

use crate::scan::{end_of_quoted, trim};

/// Header parameters as received: names and raw values (quoted strings keep their quotes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(pub Vec<(&'a str, Option<&'a str>)>);

/// Why a parameter list did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadParams;

impl<'a> Params<'a> {
    /// Parses `;a=b;c` (the leading `;` included), allowing whitespace around `;` and `=`.
    pub fn parse(s: &'a str) -> Result<Params<'a>, BadParams> {
        let mut out = Vec::new();
        Params::scan(s, |name, value| out.push((name, value)))?;
        Ok(Params(out))
    }

    /// Whether `s` parses as [`Params::parse`] would, without collecting the parameters.
    pub fn check(s: &'a str) -> Result<(), BadParams> {
        Params::scan(s, |_, _| {})
    }

    /// Checks `s` and hands each parameter to `each`, in order.
    pub(crate) fn scan(
        s: &'a str,
        mut each: impl FnMut(&'a str, Option<&'a str>),
    ) -> Result<(), BadParams> {
        let mut rest = trim(s);
        while !rest.is_empty() {
            let after = rest.strip_prefix(';').ok_or(BadParams)?;
            let after = trim(after);
            let name_len = after
                .bytes()
                .position(|b| !crate::scan::is_token_char(b))
                .unwrap_or(after.len());
            // Every byte before `name_len` is a token character.
            let name = &after[..name_len];
            if name.is_empty() {
                return Err(BadParams);
            }
            let after = trim(&after[name_len..]);
            if let Some(v) = after.strip_prefix('=') {
                let v = trim(v);
                let value_len = if v.starts_with('"') {
                    end_of_quoted(v.as_bytes(), 0).map_err(|_| BadParams)?
                } else {
                    // One pass: the value runs to ';' or whitespace, and every byte of it
                    // must be a gen-value character.
                    let len = v
                        .bytes()
                        .position(|b| !is_gen_value_char(b))
                        .unwrap_or(v.len());
                    match v.as_bytes().get(len) {
                        None | Some(b';' | b' ' | b'\t') => len,
                        Some(_) => return Err(BadParams),
                    }
                };
                if value_len == 0 {
                    return Err(BadParams);
                }
                let value = &v[..value_len];
                each(name, Some(value));
                rest = trim(&v[value_len..]);
            } else {
                each(name, None);
                rest = after;
            }
        }
        Ok(())
    }

    /// The raw value of `name` (case-insensitive): `Some(None)` for a flag parameter.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of `name` with surrounding quotes removed.
    pub fn get_unquoted(&self, name: &str) -> Option<&'a str> {
        self.get(name).flatten().map(unquote)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'a str, Option<&'a str>)> {
        self.0.iter()
    }
}

byte_class! {
    /// `token / host / quoted-string`: token characters plus the ':' '[' ']' of IPv6 hosts.
    fn is_gen_value_char = gen_value_char;
}

const fn gen_value_char(b: u8) -> bool {
    crate::scan::token_char(b) || matches!(b, b':' | b'[' | b']')
}

/// Removes the quotes of a quoted string (escapes stay as received).
pub fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

impl std::fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, v) in &self.0 {
            f.write_str(";")?;
            f.write_str(n)?;
            if let Some(v) = v {
                f.write_str("=")?;
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_around_separators() {
        let p = Params::parse(" ;   tag    = 1918181833n").unwrap();
        assert_eq!(p.get("tag"), Some(Some("1918181833n")));
        let p = Params::parse(
            ";newparam =\n      newvalue ;\n  secondparam ; q = 0.33"
                .replace('\n', "")
                .as_str(),
        )
        .map(|p| p.0.len());
        assert_eq!(p, Ok(3));
    }

    #[test]
    fn empty_parameters_are_rejected() {
        assert_eq!(Params::parse(";;"), Err(BadParams));
        assert_eq!(Params::parse(";a="), Err(BadParams));
        assert_eq!(Params::parse("x"), Err(BadParams));
    }

    #[test]
    fn quoted_values() {
        let p = Params::parse(r#";realm="a;b\" c";x"#).unwrap();
        assert_eq!(p.get_unquoted("realm"), Some(r#"a;b\" c"#));
        assert!(p.has("x"));
    }
}
