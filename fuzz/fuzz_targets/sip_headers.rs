//! Typed header parsers on arbitrary text: none panics, and digest credentials that parse can
//! be checked by the verifier without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_sip::auth::{Credentials, NonceCounts, NonceKey, RequestInfo, Authenticator};
use parley_sip::header::{AuthParams, CSeq, Contact, Event, MediaType, NameAddr, SubscriptionState, Via};
use parley_sip::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Via::parse_list(text).count();
    let _ = NameAddr::parse(text, "To");
    let _ = Contact::parse(text);
    let _ = CSeq::parse(text);
    let _ = Event::parse(text);
    let _ = SubscriptionState::parse(text);
    let _ = MediaType::parse(text, "Content-Type");
    let _ = parley_sip::header::date::parse_date(text);
    if let Ok(params) = AuthParams::parse(text, "Authorization") {
        if let Ok(creds) = Credentials::parse(&params) {
            let auth = Authenticator::new(NonceKey::new(b"fuzz secret", 1));
            let Ok(uri) = Uri::parse("sip:example.test") else {
                return;
            };
            let request = RequestInfo {
                method: "REGISTER",
                request_uri: &uri,
                realm: "example.test",
            };
            let ha1s = parley_sip::auth::Ha1s::compute("alice", "example.test", "secret");
            let mut counts = NonceCounts::new(16);
            let _ = auth.verify(&creds, &request, Some(&ha1s), 1_700_000_000, &mut counts);
        }
    }
});
