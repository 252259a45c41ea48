//! URIs: whatever parses prints back to a string that parses to the same URI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_sip::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = Uri::parse(text) {
        let printed = uri.to_string();
        assert_eq!(Uri::parse(&printed), Ok(uri));
    }
});
