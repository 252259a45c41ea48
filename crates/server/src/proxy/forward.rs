//! Editing requests and responses as a proxy does (RFC 3261 §16.4, §16.6, §16.7): popping
//! our own Route, fixing a strict router's Request-URI, the copy of the request sent to each
//! target, and removing our Via from the responses that come back.

use parley_sip::{HeaderName, Headers, Message, SipUri, StartLine, Uri};

/// `Max-Forwards` of a request that arrives without one (§16.6 step 3; §8.1.1.6 suggests 70).
pub const DEFAULT_MAX_FORWARDS: u8 = 70;

/// The copy of `request` sent to one target (§16.6 steps 1–5): the Request-URI replaced by
/// `target` when given, `Max-Forwards` decremented (or set), and our `Record-Route` on top when
/// given. The endpoint adds our Via (step 8) when it sends it.
pub fn forward_copy(
    request: &Message,
    target: Option<&Uri>,
    record_route: Option<&str>,
) -> Message {
    let mut copy = request.clone();
    if let (Some(uri), StartLine::Request(line)) = (target, &mut copy.start) {
        line.uri = uri.clone();
    }
    let max_forwards = request
        .max_forwards()
        .ok()
        .flatten()
        .map_or(DEFAULT_MAX_FORWARDS, |m| m.saturating_sub(1));
    copy.headers
        .set(HeaderName::MaxForwards, max_forwards.to_string());
    if let Some(rr) = record_route {
        copy.headers
            .push_front(HeaderName::RecordRoute, format!("<{rr}>"));
    }
    copy
}

/// Applies the Route processing of §16.4 with `is_us` telling which URIs name this proxy:
/// a Request-URI that is one of our Record-Route values (a strict router put it there) is
/// replaced by the last Route value; then a top Route naming us is removed. Returns whether
/// the request came along a route set we are part of.
pub fn preprocess_routes(request: &mut Message, is_us: impl Fn(&SipUri) -> bool) -> bool {
    let mut ours = false;
    let strict = request
        .uri()
        .and_then(Uri::as_sip)
        .is_some_and(|u| u.param("lr").is_some() && is_us(u));
    if strict {
        if let Some(last) = remove_last_value(&mut request.headers, &HeaderName::Route) {
            if let (Ok(na), StartLine::Request(line)) = (
                parley_sip::header::NameAddr::parse(&last, "Route"),
                &mut request.start,
            ) {
                line.uri = na.uri;
                ours = true;
            }
        }
    }
    let top_is_us = request
        .name_addrs(&HeaderName::Route)
        .ok()
        .and_then(|routes| routes.into_iter().next())
        .and_then(|r| r.uri.as_sip().map(&is_us))
        .unwrap_or(false);
    if top_is_us {
        remove_first_value(&mut request.headers, &HeaderName::Route);
        ours = true;
    }
    ours
}

/// The URI a request goes to next (§16.6 step 7 for a loose router): the first Route, or the
/// Request-URI.
pub fn next_hop_uri(request: &Message) -> Option<Uri> {
    match request.name_addrs(&HeaderName::Route) {
        Ok(routes) if !routes.is_empty() => routes.into_iter().next().map(|r| r.uri),
        _ => request.uri().cloned(),
    }
}

/// A response from downstream made ready to go upstream: our Via, the top one, removed
/// (§16.7 step 3).
pub fn strip_top_via(mut response: Message) -> Message {
    remove_first_value(&mut response.headers, &HeaderName::Via);
    response
}

/// Removes the first value of a comma-separated list header (a field may carry several);
/// false when there is none.
pub fn remove_first_value(headers: &mut Headers, name: &HeaderName) -> bool {
    let Some(first) = headers.first_mut(name) else {
        return false;
    };
    // The delimiters are ASCII, so a byte scan finds the same split as a char scan, and the
    // rest of the field stays a slice of the received buffer (no copy per response).
    match split_first_bytes(&first.value) {
        Some(comma) => {
            let rest = &first.value[comma + 1..];
            let lead = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let trail = rest[lead..]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            first.value = first
                .value
                .slice(comma + 1 + lead..first.value.len() - trail);
        }
        None => {
            headers.remove_first(name);
        }
    }
    true
}

/// Removes the last value of a comma-separated list header.
fn remove_last_value(headers: &mut Headers, name: &HeaderName) -> Option<String> {
    let values: Vec<String> = headers
        .all(name)
        .filter_map(|h| h.value_str().map(str::to_owned))
        .collect();
    let last_field = values.last()?;
    let mut parts = Vec::new();
    let mut rest = last_field.as_str();
    while let Some((head, tail)) = split_first(rest) {
        parts.push(head.trim().to_owned());
        rest = tail;
    }
    parts.push(rest.trim().to_owned());
    let last = parts.pop()?;
    let mut kept: Vec<String> = values[..values.len() - 1].to_vec();
    if !parts.is_empty() {
        kept.push(parts.join(", "));
    }
    headers.remove_all(name);
    for v in kept {
        headers.push(name.clone(), v);
    }
    Some(last)
}

/// Splits at the first comma outside quotes and angle brackets: `(first value, the rest)`,
/// or `None` when there is a single value.
/// The index of the first top-level comma of a field value (as [`split_first`] splits).
fn split_first_bytes(value: &[u8]) -> Option<usize> {
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    for (i, &c) in value.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => return Some(i),
            _ => {}
        }
    }
    None
}

fn split_first(text: &str) -> Option<(&str, &str)> {
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parley_sip::{Host, Limits};

    fn request(extra: &str, uri: &str) -> Message {
        let text = format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    }

    fn is_us(u: &SipUri) -> bool {
        u.user.is_none() && u.host == Host::Name("proxy.example.com".into())
    }

    #[test]
    fn the_copy_has_the_target_one_hop_less_and_our_record_route_on_top() {
        let r = request(
            "Max-Forwards: 10\r\nRecord-Route: <sip:other;lr>\r\n",
            "sip:b@example.com",
        );
        let target = Uri::parse("sip:b@192.0.2.9:5070").unwrap();
        let copy = forward_copy(&r, Some(&target), Some("sip:proxy.example.com;lr"));
        assert_eq!(copy.uri(), Some(&target));
        assert_eq!(copy.max_forwards().unwrap(), Some(9));
        let rr: Vec<String> = copy
            .name_addrs(&HeaderName::RecordRoute)
            .unwrap()
            .iter()
            .map(|n| n.uri.to_string())
            .collect();
        assert_eq!(rr, ["sip:proxy.example.com;lr", "sip:other;lr"]);
        let copy = forward_copy(&request("", "sip:b@example.com"), None, None);
        assert_eq!(copy.max_forwards().unwrap(), Some(70));
    }

    #[test]
    fn our_route_is_popped_and_the_next_hop_is_the_next_route() {
        let mut r = request(
            "Route: <sip:proxy.example.com;lr>, <sip:next.example.net;lr>\r\n",
            "sip:b@192.0.2.9",
        );
        assert!(preprocess_routes(&mut r, is_us));
        assert_eq!(
            next_hop_uri(&r).unwrap().to_string(),
            "sip:next.example.net;lr"
        );
        let mut r = request("Route: <sip:proxy.example.com;lr>\r\n", "sip:b@192.0.2.9");
        assert!(preprocess_routes(&mut r, is_us));
        assert!(r.headers.get(&HeaderName::Route).is_none());
        assert_eq!(next_hop_uri(&r).unwrap().to_string(), "sip:b@192.0.2.9");
        let mut r = request("Route: <sip:elsewhere;lr>\r\n", "sip:b@example.com");
        assert!(!preprocess_routes(&mut r, is_us));
    }

    #[test]
    fn a_strict_router_request_uri_is_restored_from_the_last_route() {
        let mut r = request(
            "Route: <sip:x.example.net;lr>\r\nRoute: <sip:b@192.0.2.9>\r\n",
            "sip:proxy.example.com;lr",
        );
        assert!(preprocess_routes(&mut r, is_us));
        assert_eq!(r.uri().unwrap().to_string(), "sip:b@192.0.2.9");
        assert_eq!(r.headers.count(&HeaderName::Route), 1);
    }

    #[test]
    fn only_the_top_via_is_removed() {
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP us;branch=z9hG4bK-a, SIP/2.0/UDP them;branch=z9hG4bK-b\r\n\
                    Via: SIP/2.0/UDP first;branch=z9hG4bK-c\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\n\
                    Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
        let m = strip_top_via(m);
        let hosts: Vec<String> = m.vias().map(|v| v.unwrap().host.to_string()).collect();
        assert_eq!(hosts, ["them", "first"]);
        let m = strip_top_via(m);
        assert_eq!(m.vias().count(), 1);
    }
}
