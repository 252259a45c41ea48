//! Responses that match no client transaction (RFC 3261 §17.1.3) and that the proxy still
//! forwards: a `2xx` to an INVITE that a callee retransmits after our client transaction
//! ended with its first one (§13.3.1.4). The caller's core must see it (§13.2.2.4: its ACK
//! was lost, say), and our INVITE server transaction ended too, so it goes upstream
//! statelessly (§16.7 step 5, §16.11): to the next Via, once ours, the top one, is removed.
//! Anything else is dropped.

use super::forward::strip_top_via;
use parley_sip::{Host, Message, Method, Transport};
use std::net::SocketAddr;

/// What to forward upstream for a stray `response`: a `2xx` to an INVITE whose top Via is
/// ours (an RFC 3261 branch and the sent-by of one of our `listeners`), that Via removed.
/// `None`: drop it.
pub fn to_forward(response: Message, listeners: &[(Transport, SocketAddr)]) -> Option<Message> {
    let is_2xx = matches!(response.status(), Some(200..=299));
    let to_invite = response.cseq().is_ok_and(|c| c.method == Method::Invite);
    if !is_2xx || !to_invite || !top_via_is_ours(&response, listeners) {
        return None;
    }
    let response = strip_top_via(response);
    response.top_via().is_ok().then_some(response)
}

/// Whether the top Via is one the endpoint put there for one of our listeners.
fn top_via_is_ours(response: &Message, listeners: &[(Transport, SocketAddr)]) -> bool {
    let Ok(via) = response.top_via() else {
        return false;
    };
    via.has_rfc3261_branch()
        && listeners.iter().any(|(_, addr)| {
            matches!(via.host, Host::Ip(ip) if ip == addr.ip())
                && via.port.unwrap_or(5060) == addr.port()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parley_sip::{HeaderName, Limits};

    const US: &str = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK5eed;rport";
    const CALLER: &str = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-caller;rport=5060";

    fn listeners() -> Vec<(Transport, SocketAddr)> {
        vec![
            (Transport::Udp, "192.0.2.1:5060".parse().unwrap()),
            (Transport::Tcp, "192.0.2.1:5060".parse().unwrap()),
        ]
    }

    fn response(code: u16, method: &str, vias: &[&str]) -> Message {
        let vias: String = vias.iter().map(|v| format!("Via: {v}\r\n")).collect();
        let text = format!(
            "SIP/2.0 {code} X\r\n{vias}From: <sip:a@example.com>;tag=1\r\n\
             To: <sip:b@example.com>;tag=2\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    #[test]
    fn a_2xx_to_invite_through_us_goes_up_without_our_via() {
        let up = to_forward(response(200, "INVITE", &[US, CALLER]), &listeners()).unwrap();
        assert_eq!(up.headers.count(&HeaderName::Via), 1);
        assert_eq!(up.headers.get_str(&HeaderName::Via), Some(CALLER));
        // Both Vias in one header field.
        let joined = format!("{US}, {CALLER}");
        let up = to_forward(response(200, "INVITE", &[&joined]), &listeners()).unwrap();
        assert_eq!(up.vias().count(), 1);
    }

    #[test]
    fn everything_else_is_dropped() {
        let l = listeners();
        assert!(to_forward(response(180, "INVITE", &[US, CALLER]), &l).is_none());
        assert!(to_forward(response(486, "INVITE", &[US, CALLER]), &l).is_none());
        assert!(to_forward(response(200, "MESSAGE", &[US, CALLER]), &l).is_none());
        // Not ours: another address, another port, or no RFC 3261 branch.
        let other = "SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK5eed";
        assert!(to_forward(response(200, "INVITE", &[other, CALLER]), &l).is_none());
        let port = "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK5eed";
        assert!(to_forward(response(200, "INVITE", &[port, CALLER]), &l).is_none());
        let old = "SIP/2.0/UDP 192.0.2.1:5060;branch=1";
        assert!(to_forward(response(200, "INVITE", &[old, CALLER]), &l).is_none());
        // Ours, but nobody upstream.
        assert!(to_forward(response(200, "INVITE", &[US]), &l).is_none());
    }
}
