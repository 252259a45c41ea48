//! Header field names, with the compact forms of RFC 3261 §7.3.3 and the SIMPLE extensions.

use bytes::Bytes;
use std::fmt;

macro_rules! header_names {
    ($( $variant:ident => $name:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Known names compare case-insensitively and print in their
        /// canonical long form; unknown names are kept as received.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $( $variant, )*
            Other(Bytes),
        }

        impl HeaderName {
            /// Recognises a name (long or compact form, any case).
            pub fn from_bytes(raw: Bytes) -> HeaderName {
                // Every known name is at most 19 octets long; longer ones skip the table.
                if raw.len() > 19 {
                    return HeaderName::Other(raw);
                }
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

            /// A small number for each known name (for bit sets); `None` for extensions.
            pub fn known_index(&self) -> Option<u8> {
                #[allow(dead_code)] // only its discriminants are used
                enum Index { $( $variant, )* }
                match self {
                    $( HeaderName::$variant => Some(Index::$variant as u8), )*
                    HeaderName::Other(_) => None,
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

// Header names are case-insensitive (RFC 3261 §7.3.1), unknown ones included.
impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl std::hash::Hash for HeaderName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let HeaderName::Other(b) = self {
            for c in b.iter() {
                state.write_u8(c.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_case_insensitively() {
        assert_eq!(
            HeaderName::from_bytes(Bytes::from_static(b"i")),
            HeaderName::CallId
        );
        assert_eq!(
            HeaderName::from_bytes(Bytes::from_static(b"cALL-id")),
            HeaderName::CallId
        );
        let a = HeaderName::from_bytes(Bytes::from_static(b"X-Custom"));
        assert_eq!(a, HeaderName::Other(Bytes::from_static(b"x-CUSTOM")));
        assert_eq!(a.as_bytes(), b"X-Custom");
        assert_ne!(a, HeaderName::Other(Bytes::from_static(b"X-Other")));
    }
}
