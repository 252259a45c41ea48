//! Printing then parsing is the identity on generated messages: a proxy that parses and
//! re-prints a message changes nothing in it. Arbitrary and mutated input never panics the
//! parser, the validator or the framer.

use bytes::Bytes;
use parley_sip::{HeaderName, Limits, Message, Method, StartLine, StatusLine, StreamFramer, Uri};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]([a-z0-9-]{0,9}[a-z0-9])?(\\.[a-z][a-z0-9]{0,6}){0,3}",
        (any::<[u8; 4]>()).prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
        (any::<[u16; 8]>()).prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
    ]
}

fn sip_uri() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,12}|%[0-9A-F]{2}[a-z]{0,4}"),
        host(),
        prop::option::of(1u16..),
        prop::collection::vec(
            (
                "[a-z][a-z0-9-]{0,8}",
                prop::option::of("[a-zA-Z0-9._-]{1,8}"),
            ),
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(user, host, port, params, secure)| {
            let mut s = String::from(if secure { "sips:" } else { "sip:" });
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            for (n, v) in params {
                s.push(';');
                s.push_str(&n);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            s
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Register),
        Just(Method::Message),
        Just(Method::Publish),
        Just(Method::Subscribe),
        Just(Method::Notify),
        Just(Method::Options),
        Just(Method::Invite),
        token().prop_map(|t| Method::parse(&t).unwrap()),
    ]
}

/// A header value as a parser stores it: no CR/LF, no surrounding whitespace.
fn value() -> impl Strategy<Value = String> {
    "[!-~]([ -~\u{80}-\u{7ff}]{0,30}[!-~])?|"
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::option::of((method(), sip_uri())),
        (100u16..700, "[ -~]{0,20}"),
        sip_uri(),
        sip_uri(),
        prop::collection::vec((token(), value()), 0..8),
        prop::collection::vec(any::<u8>(), 0..200),
        1u32..u32::MAX,
    )
        .prop_map(|(req, (code, reason), from, to, extra, body, seq)| {
            let start = match &req {
                Some((m, uri)) => StartLine::Request(parley_sip::RequestLine {
                    method: m.clone(),
                    uri: Uri::parse(uri).unwrap(),
                }),
                None => StartLine::Response(StatusLine {
                    code,
                    reason: Bytes::from(reason.trim_end().to_owned()),
                }),
            };
            let method = req.map(|(m, _)| m).unwrap_or(Method::Invite);
            let mut m = Message {
                start,
                headers: parley_sip::Headers::new(),
                body: Bytes::new(),
            };
            m.headers.push(
                HeaderName::Via,
                "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport",
            );
            m.headers.push(HeaderName::From, format!("<{from}>;tag=1"));
            m.headers
                .push(HeaderName::To, format!("\"To, Name\" <{to}>"));
            m.headers.push(HeaderName::CallId, "abc@192.0.2.1");
            m.headers.push(HeaderName::CSeq, format!("{seq} {method}"));
            for (name, v) in extra {
                let name = HeaderName::from_bytes(Bytes::from(name));
                if name == HeaderName::ContentLength {
                    continue;
                }
                m.headers.push(name, v);
            }
            m.body = Bytes::from(body);
            m.set_content_length();
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(m in message()) {
        let printed = m.to_bytes();
        let parsed = Message::parse(printed.clone(), &Limits::default()).map_err(|r| r.error);
        prop_assert_eq!(parsed.as_ref(), Ok(&m));
        // The same bytes come out of a stream in one frame.
        let mut framer = StreamFramer::new(Limits::default());
        framer.push(&printed);
        prop_assert_eq!(framer.next_frame().map_err(|e| e.error), Ok(Some(parley_sip::Frame::Message(printed))));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = Message::parse(Bytes::from(data.clone()), &Limits::default()) {
            let _ = m.validate();
            let _ = m.to_bytes();
        }
        let mut framer = StreamFramer::new(Limits::default());
        framer.push(&data);
        while let Ok(Some(_)) = framer.next_frame() {}
    }

    #[test]
    fn mutated_torture_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let all = parley_test_support::fixtures::rfc4475();
        let mut data = all[pick.index(all.len())].bytes.clone();
        for (at, byte, op) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => { data.remove(i); }
                _ => data.insert(i, byte),
            }
        }
        if let Ok(m) = Message::parse(Bytes::from(data), &Limits::default()) {
            if m.validate().is_ok() {
                // Whatever validates must survive a round trip.
                let again = Message::parse(m.to_bytes(), &Limits::default()).map_err(|r| r.error);
                prop_assert_eq!(again.as_ref(), Ok(&m));
            }
        }
    }
}
