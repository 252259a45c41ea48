//! Helpers of the presence scenarios: a presentity that publishes and a watcher that
//! subscribes, answers NOTIFYs and unsubscribes, each a [`Phone`].

use crate::harness::unique;
use crate::phone::Phone;
use parley_sip::{HeaderName, Message, Method};
use std::time::Duration;

pub const PIDF_TYPE: &str = "Event: presence\r\nContent-Type: application/pidf+xml\r\n";

pub fn pidf(entity: &str, note: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:{entity}\">\
         <tuple id=\"t1\"><status><basic>open</basic></status><note>{note}</note></tuple>\
         </presence>"
    )
}

pub fn header(r: &Message, name: HeaderName) -> Option<String> {
    r.headers
        .get(&name)
        .and_then(|h| h.value_str())
        .map(str::to_owned)
}

pub fn etag(r: &Message) -> String {
    header(r, HeaderName::SipETag).expect("SIP-ETag")
}

/// Publishes `note` for the phone's own address (a modify when `if_match` is given); the
/// new entity tag.
pub async fn publish(phone: &mut Phone, note: &str, if_match: Option<&str>) -> String {
    let to = format!("{}@{}", phone.user, phone.domain);
    let condition = if_match.map_or(String::new(), |t| format!("SIP-If-Match: {t}\r\n"));
    let r = phone
        .request(
            "PUBLISH",
            &to,
            &format!("{PIDF_TYPE}{condition}"),
            &pidf(&to, note),
        )
        .await;
    assert_eq!(r.status(), Some(200), "{r:?}");
    etag(&r)
}

/// A watcher's subscription dialog.
pub struct Watching {
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: String,
    pub target: String,
    pub to: String,
    pub cseq: u32,
}

/// Subscribes `watcher` to `to`'s presence (answering the 407); the dialog and the `200`.
pub async fn subscribe(watcher: &mut Phone, to: &str, expires: u32) -> (Watching, Message) {
    let headers =
        format!("Event: presence\r\nAccept: application/pidf+xml\r\nExpires: {expires}\r\n");
    let mut text = watcher.request_text("SUBSCRIBE", to, &headers, "", None);
    let mut ok = watcher.transact(&text).await;
    if ok.status() == Some(407) {
        let creds = watcher.credentials(&ok, "SUBSCRIBE", &format!("sip:{to}"));
        text = watcher.request_text("SUBSCRIBE", to, &headers, "", Some(&creds));
        ok = watcher.transact(&text).await;
    }
    assert_eq!(ok.status(), Some(200), "{ok:?}");
    let sent = crate::harness::parse(text.as_bytes());
    let contact = ok.contacts().unwrap();
    let target = match contact.first() {
        Some(parley_sip::header::Contact::Addresses(a)) => a[0].uri.to_string(),
        other => panic!("no Contact in the 200: {other:?}"),
    };
    let watching = Watching {
        call_id: sent.call_id().unwrap().to_owned(),
        from_tag: sent.from_header().unwrap().tag().unwrap().to_owned(),
        to_tag: ok.to_header().unwrap().tag().unwrap().to_owned(),
        target,
        to: to.to_owned(),
        cseq: sent.cseq().unwrap().seq,
    };
    (watching, ok)
}

/// A SUBSCRIBE inside the dialog with `expires` (0: unsubscribe); its final response.
pub async fn resubscribe(watcher: &mut Phone, w: &mut Watching, expires: u32) -> Message {
    w.cseq += 1;
    let text = format!(
        "SUBSCRIBE {target} SIP/2.0\r\n\
         Via: SIP/2.0/{t} {addr};branch=z9hG4bK-rs{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <{aor}>;tag={from_tag}\r\n\
         To: <sip:{to}>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <{contact}>\r\n\
         Event: presence\r\n\
         Expires: {expires}\r\n\
         Content-Length: 0\r\n\r\n",
        target = w.target,
        t = watcher.transport(),
        addr = watcher.local_addr(),
        n = unique(),
        aor = watcher.aor(),
        from_tag = w.from_tag,
        to = w.to,
        to_tag = w.to_tag,
        call_id = w.call_id,
        cseq = w.cseq,
        contact = watcher.contact(),
    );
    watcher.transact(&text).await
}

/// The next NOTIFY within `wait`, answered `200`.
pub async fn next_notify(watcher: &mut Phone, wait: Duration) -> Option<Message> {
    loop {
        let m = watcher.next_request(wait).await?;
        if m.method() == Some(&Method::Notify) {
            watcher.answer(&m, 200).await;
            return Some(m);
        }
    }
}

pub fn body(m: &Message) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}
