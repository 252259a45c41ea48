//! Header field names, with the compact forms of RFC 3261 §7.3.3 and the SIMPLE extensions.

use bytes::Bytes;
use std::fmt;

macro_rules! header_names {
    ($( $variant:ident => $name:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Known names compare case-insensitively and print in their
        /// canonical long form; unknown names are kept as received.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $( $variant, )*
            Other(Bytes),
        }

        impl HeaderName {
            /// Recognises a name (long or compact form, any case).
            pub fn from_bytes(raw: Bytes) -> HeaderName {
                $(
                    if raw.eq_ignore_ascii_case($name.as_bytes()) $(|| raw.eq_ignore_ascii_case($compact.as_bytes()))? {
                        return HeaderName::$variant;
                    }
                )*
                HeaderName::Other(raw)
            }

            /// The canonical long form, or the name as received.
            pub fn as_bytes(&self) -> &[u8] {
                match self {
                    $( HeaderName::$variant => $name.as_bytes(), )*
                    HeaderName::Other(b) => b,
                }
            }

            /// The canonical name of a known header (for error messages).
            pub fn canonical(&self) -> &'static str {
                match self {
                    $( HeaderName::$variant => $name, )*
                    HeaderName::Other(_) => "extension",
                }
            }
        }
    };
}

header_names! {
    Via => "Via", "v";
    From => "From", "f";
    To => "To", "t";
    CallId => "Call-ID", "i";
    CSeq => "CSeq";
    Contact => "Contact", "m";
    MaxForwards => "Max-Forwards";
    Expires => "Expires";
    MinExpires => "Min-Expires";
    Route => "Route";
    RecordRoute => "Record-Route";
    Event => "Event", "o";
    AllowEvents => "Allow-Events", "u";
    SubscriptionState => "Subscription-State";
    SipETag => "SIP-ETag";
    SipIfMatch => "SIP-If-Match";
    ContentType => "Content-Type", "c";
    ContentLength => "Content-Length", "l";
    ContentEncoding => "Content-Encoding", "e";
    Accept => "Accept";
    Allow => "Allow";
    Require => "Require";
    Supported => "Supported", "k";
    Unsupported => "Unsupported";
    ProxyRequire => "Proxy-Require";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    Date => "Date";
    Subject => "Subject", "s";
    UserAgent => "User-Agent";
    Server => "Server";
    Timestamp => "Timestamp";
}

impl HeaderName {
    /// Headers that RFC 3261 §7.3.1 lets appear only once (besides the ones carrying lists).
    pub fn is_single_valued(&self) -> bool {
        matches!(
            self,
            HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
                | HeaderName::MaxForwards
                | HeaderName::ContentLength
                | HeaderName::ContentType
                | HeaderName::Expires
                | HeaderName::MinExpires
                | HeaderName::Date
                | HeaderName::Event
                | HeaderName::SubscriptionState
                | HeaderName::SipETag
                | HeaderName::SipIfMatch
        )
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}
