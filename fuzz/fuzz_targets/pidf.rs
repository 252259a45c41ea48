//! Presence and watcher-info documents: parsing never panics, and whatever parses prints to a
//! document that parses to the same model (parse → print → parse → equal).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_presence::{Presence, WatcherInfo};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Presence::parse(data) {
        let printed = doc.to_xml();
        assert_eq!(Presence::parse(printed.as_bytes()), Ok(doc), "{printed}");
    }
    if let Ok(doc) = WatcherInfo::parse(data) {
        let printed = doc.to_xml();
        assert_eq!(WatcherInfo::parse(printed.as_bytes()), Ok(doc), "{printed}");
    }
});
