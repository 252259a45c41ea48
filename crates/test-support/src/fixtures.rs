//! Message fixtures: the RFC 4475 torture messages (read from `../shared/vectors/rfc4475/`)
//! and typical SIMPLE requests.

use std::path::PathBuf;

/// How RFC 4475's index classifies a torture message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// §3.1.1: syntactically valid; must parse.
    Valid,
    /// §3.1.2: must be rejected by the parser.
    Invalid,
    /// §3.2–3.3: parseable, but tests application-layer handling.
    Semantic,
    /// §3.4: valid RFC 2543 syntax.
    Rfc2543,
    /// Only in the appendix archive.
    Undescribed,
}

/// One torture message.
#[derive(Debug, Clone)]
pub struct TortureMessage {
    pub name: String,
    pub class: Class,
    pub section: String,
    pub bytes: Vec<u8>,
}

/// The directory holding the vectors: `$PARLEY_VECTORS`, or `shared/vectors/rfc4475` beside the
/// project root.
pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PARLEY_VECTORS") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("../shared/vectors/rfc4475")
}

/// Every message listed in the vectors' `index.txt`, with its classification.
///
/// # Panics
/// If the vectors are missing: the tests cannot run without them.
pub fn rfc4475() -> Vec<TortureMessage> {
    let dir = vectors_dir();
    #[allow(clippy::expect_used)] // test fixture: missing vectors must fail loudly
    let index =
        std::fs::read_to_string(dir.join("index.txt")).expect("RFC 4475 vectors (index.txt)");
    index
        .lines()
        .filter(|l| l.contains(".dat "))
        .map(|line| {
            let mut cols = line.split_whitespace();
            let file = cols.next().unwrap_or_default().to_owned();
            let class_word = cols.next().unwrap_or_default();
            let class = match class_word {
                "valid" => match cols.clone().next() {
                    Some("(RFC") => Class::Rfc2543,
                    _ => Class::Valid,
                },
                "invalid" => Class::Invalid,
                w if w.starts_with("valid-syntax") => Class::Semantic,
                _ => Class::Undescribed,
            };
            let section = match class {
                Class::Rfc2543 => cols.nth(2).unwrap_or_default().to_owned(),
                _ => cols.next().unwrap_or_default().to_owned(),
            };
            #[allow(clippy::expect_used)] // test fixture
            let bytes = std::fs::read(dir.join(&file)).expect("vector file listed in index.txt");
            TortureMessage {
                name: file.trim_end_matches(".dat").to_owned(),
                class,
                section,
                bytes,
            }
        })
        .collect()
}

/// A typical REGISTER from a softphone.
pub const REGISTER: &[u8] = b"REGISTER sip:example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: \"Alice\" <sip:alice@example.test>\r\n\
From: \"Alice\" <sip:alice@example.test>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH\r\n\
User-Agent: Parley-bench/1.0\r\n\
Content-Length: 0\r\n\r\n";

/// A page-mode instant message (RFC 3428).
pub const MESSAGE: &[u8] = b"MESSAGE sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/TCP 192.0.2.10:50312;branch=z9hG4bK776sgdkse\r\n\
Max-Forwards: 70\r\n\
From: sip:alice@example.test;tag=49583\r\n\
To: sip:bob@example.test\r\n\
Call-ID: asd88asd77a@192.0.2.10\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain;charset=UTF-8\r\n\
Content-Length: 18\r\n\r\n\
Watson, come here.";

/// A PUBLISH of a PIDF document (RFC 3903).
pub const PUBLISH: &[u8] = b"PUBLISH sip:alice@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK652hsge\r\n\
To: <sip:alice@example.test>\r\n\
From: <sip:alice@example.test>;tag=1234wxyz\r\n\
Call-ID: 81818181@192.0.2.10\r\n\
CSeq: 1 PUBLISH\r\n\
Max-Forwards: 70\r\n\
Expires: 3600\r\n\
Event: presence\r\n\
Content-Type: application/pidf+xml\r\n\
Content-Length: 218\r\n\r\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:alice@example.test\">\r\n\
<tuple id=\"a1\"><status><basic>open</basic></status><note>at my desk</note></tuple>\r\n\
</presence>\r\n";

/// A NOTIFY carrying presence to a watcher (RFC 6665, RFC 3856).
pub const NOTIFY: &[u8] = b"NOTIFY sip:bob@192.0.2.20:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK8sdf2\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.test>;tag=ffd2\r\n\
To: <sip:bob@example.test>;tag=xfg9\r\n\
Call-ID: 2010@192.0.2.20\r\n\
Event: presence\r\n\
Subscription-State: active;expires=599\r\n\
CSeq: 8775 NOTIFY\r\n\
Contact: <sip:192.0.2.1:5060>\r\n\
Content-Type: application/pidf+xml\r\n\
Content-Length: 170\r\n\r\n\
<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:alice@example.test\"><tuple id=\"a1\"><status><basic>open</basic></status></tuple></presence>";
