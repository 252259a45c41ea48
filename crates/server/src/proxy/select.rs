//! Choosing the response a forking proxy sends upstream when no branch succeeded
//! (RFC 3261 §16.7 step 6): a 6xx if there is one; otherwise one of the lowest class, with
//! preference for the 4xx that tell the client how to resubmit (401, 407, 415, 420, 484);
//! a chosen 503 is sent as 500 (§16.7 step 6: a 503 means *this* proxy's next hop is
//! overloaded, not that the caller should stop using us), and the challenges of every 401 and
//! 407 are gathered into the one chosen (§16.7 step 7), so that the client can answer all of
//! them at once.

use parley_sip::message::status_line;
use parley_sip::{HeaderName, Message};

/// Status codes a client can act on by changing its request.
const RESUBMIT_HINTS: [u16; 5] = [401, 407, 415, 420, 484];

/// The index of the best final response among `finals` (each 300–699); `None` if empty.
pub fn best(finals: &[u16]) -> Option<usize> {
    if let Some(i) = finals.iter().position(|c| *c >= 600) {
        return Some(i);
    }
    let class = finals.iter().map(|c| c / 100).min()?;
    finals
        .iter()
        .position(|c| c / 100 == class && RESUBMIT_HINTS.contains(c))
        .or_else(|| finals.iter().position(|c| c / 100 == class))
}

/// The response to send upstream from the stored finals (ready to go upstream: our Via
/// already removed); `None` if there are none.
pub fn choose(finals: &[Message]) -> Option<Message> {
    let codes: Vec<u16> = finals.iter().map(|m| m.status().unwrap_or(500)).collect();
    let index = best(&codes)?;
    let mut chosen = finals.get(index)?.clone();
    match codes[index] {
        503 => chosen.start = status_line(500, "Server Internal Error (next hop unavailable)"),
        401 | 407 => {
            for (i, other) in finals.iter().enumerate() {
                if i == index || !matches!(codes[i], 401 | 407) {
                    continue;
                }
                for name in [HeaderName::WwwAuthenticate, HeaderName::ProxyAuthenticate] {
                    for h in other.headers.all(&name) {
                        chosen.headers.push(name.clone(), h.value.clone());
                    }
                }
            }
        }
        _ => {}
    }
    Some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parley_sip::Limits;

    #[test]
    fn six_hundreds_win_then_the_lowest_class() {
        assert_eq!(best(&[486, 603, 302]), Some(1));
        assert_eq!(best(&[500, 486, 404]), Some(1));
        assert_eq!(best(&[500, 302, 404]), Some(1));
        assert_eq!(best(&[408, 503]), Some(0));
        assert_eq!(best(&[]), None);
    }

    #[test]
    fn resubmission_hints_are_preferred_within_the_class() {
        assert_eq!(best(&[404, 486, 407]), Some(2));
        assert_eq!(best(&[480, 415]), Some(1));
    }

    fn response(code: u16, extra: &str) -> Message {
        let text = format!(
            "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\n\
             To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    #[test]
    fn a_503_goes_up_as_500() {
        let chosen = choose(&[response(503, "")]).unwrap();
        assert_eq!(chosen.status(), Some(500));
    }

    #[test]
    fn challenges_are_gathered() {
        let chosen = choose(&[
            response(
                407,
                "Proxy-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n",
            ),
            response(404, ""),
            response(401, "WWW-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n"),
        ])
        .unwrap();
        assert_eq!(chosen.status(), Some(407));
        assert_eq!(chosen.headers.count(&HeaderName::ProxyAuthenticate), 1);
        assert_eq!(chosen.headers.count(&HeaderName::WwwAuthenticate), 1);
    }
}
