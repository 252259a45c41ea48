//! The allocation-free checks that `Message::validate` runs on every message agree with the
//! parsers the services use: for any input, `check` fails exactly when `parse` does, with the
//! same error. A message the validator admits therefore never fails a typed accessor later.

use parley_sip::header::{Contact, NameAddr, Via};
use parley_sip::Uri;
use proptest::prelude::*;

/// Text made of the characters that matter to the grammars (delimiters, escapes, quotes,
/// brackets) around fragments of valid values, so both outcomes are common.
fn noisy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("sip:".to_owned()),
            Just("sips:".to_owned()),
            Just("tel:".to_owned()),
            Just("<sip:alice@example.com>".to_owned()),
            Just("SIP/2.0/UDP ".to_owned()),
            Just("192.0.2.1".to_owned()),
            Just("[2001:db8::1]".to_owned()),
            Just(";branch=z9hG4bK1".to_owned()),
            Just(";q=0.5".to_owned()),
            Just(";expires=60".to_owned()),
            Just(";tag=x".to_owned()),
            "[a-z0-9.]{1,6}",
            "[@:;=?&,<>\"\\\\%\\[\\] \t.*-]",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn uri_check_agrees_with_parse(s in noisy()) {
        prop_assert_eq!(Uri::check(&s), Uri::parse(&s).map(|_| ()));
    }

    #[test]
    fn name_addr_check_agrees_with_parse(s in noisy()) {
        prop_assert_eq!(NameAddr::check(&s, "To"), NameAddr::parse(&s, "To").map(|_| ()));
        let listed: Result<Vec<_>, _> = NameAddr::parse_list(&s, "Route").collect();
        prop_assert_eq!(NameAddr::check_list(&s, "Route"), listed.map(|_| ()));
    }

    #[test]
    fn via_check_agrees_with_parse(s in noisy()) {
        let listed: Result<Vec<_>, _> = Via::parse_list(&s).collect();
        prop_assert_eq!(Via::check_list(&s), listed.map(|_| ()));
    }

    #[test]
    fn contact_check_agrees_with_parse(s in noisy()) {
        let parsed = Contact::parse(&s).and_then(|c| match c {
            Contact::Star => Ok(()),
            Contact::Addresses(list) => list
                .iter()
                .try_for_each(|a| parley_sip::header::contact::contact_expires(a).map(|_| ())),
        });
        prop_assert_eq!(Contact::check(&s), parsed);
    }
}
