//! Helpers of the presence scenarios: a presentity that publishes and a watcher that
//! subscribes, answers NOTIFYs and unsubscribes, each a [`Phone`].

use crate::harness::unique;
use crate::phone::Phone;
use parley_sip::{HeaderName, Message, Method};
use std::time::Duration;

pub const WATCHERINFO_TYPE: &str = "application/watcherinfo+xml";

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
    /// The `Event` package.
    pub event: String,
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: String,
    pub target: String,
    pub to: String,
    pub cseq: u32,
}

/// Subscribes `watcher` to `to`'s presence (answering the 407); the dialog and the `200`.
pub async fn subscribe(watcher: &mut Phone, to: &str, expires: u32) -> (Watching, Message) {
    subscribe_to(watcher, to, "presence", "application/pidf+xml", expires).await
}

/// Subscribes `phone` to its own watcher information (`presence.winfo`).
pub async fn subscribe_winfo(phone: &mut Phone, expires: u32) -> (Watching, Message) {
    let me = format!("{}@{}", phone.user, phone.domain);
    subscribe_to(phone, &me, "presence.winfo", WATCHERINFO_TYPE, expires).await
}

/// The final answer to a SUBSCRIBE of `phone` to `to` for `event` (answering the 407).
pub async fn try_subscribe(phone: &mut Phone, to: &str, event: &str, accept: &str) -> Message {
    let headers = format!("Event: {event}\r\nAccept: {accept}\r\nExpires: 600\r\n");
    phone.request("SUBSCRIBE", to, &headers, "").await
}

async fn subscribe_to(
    watcher: &mut Phone,
    to: &str,
    event: &str,
    accept: &str,
    expires: u32,
) -> (Watching, Message) {
    subscribe_named(watcher, None, to, event, accept, expires).await
}

/// Subscribes `watcher` to `to`'s presence with `display` as the display name of its From.
pub async fn subscribe_as(watcher: &mut Phone, display: &str, to: &str) -> (Watching, Message) {
    let pidf = "application/pidf+xml";
    subscribe_named(watcher, Some(display), to, "presence", pidf, 600).await
}

async fn subscribe_named(
    watcher: &mut Phone,
    display: Option<&str>,
    to: &str,
    event: &str,
    accept: &str,
    expires: u32,
) -> (Watching, Message) {
    let headers = format!("Event: {event}\r\nAccept: {accept}\r\nExpires: {expires}\r\n");
    let named = |text: String| match display {
        Some(d) => text.replacen("\r\nFrom: <", &format!("\r\nFrom: \"{d}\" <"), 1),
        None => text,
    };
    let mut text = named(watcher.request_text("SUBSCRIBE", to, &headers, "", None));
    let mut ok = watcher.transact(&text).await;
    if ok.status() == Some(407) {
        let creds = watcher.credentials(&ok, "SUBSCRIBE", &format!("sip:{to}"));
        text = named(watcher.request_text("SUBSCRIBE", to, &headers, "", Some(&creds)));
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
        event: event.to_owned(),
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
         Event: {event}\r\n\
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
        event = w.event,
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

/// The watcher-information document of a winfo NOTIFY.
pub fn winfo(m: &Message) -> parley_presence::WatcherInfo {
    assert_eq!(
        header(m, HeaderName::ContentType).as_deref(),
        Some(WATCHERINFO_TYPE),
        "{m:?}"
    );
    parley_presence::WatcherInfo::parse(&m.body).expect("a watcherinfo document")
}

/// The watchers of a winfo document as `(uri, status, event)`.
pub fn rows(doc: &parley_presence::WatcherInfo) -> Vec<(String, &'static str, &'static str)> {
    doc.lists
        .iter()
        .flat_map(|l| &l.watchers)
        .map(|w| (w.uri.clone(), w.status.as_str(), w.event.as_str()))
        .collect()
}

/// The next NOTIFY whose `Event` is `event` (others are answered and skipped).
pub async fn next_notify_of(phone: &mut Phone, event: &str, wait: Duration) -> Option<Message> {
    loop {
        let m = next_notify(phone, wait).await?;
        if header(&m, HeaderName::Event).as_deref() == Some(event) {
            return Some(m);
        }
    }
}

/// One HTTP/1.1 exchange on a new connection: the status, the `WWW-Authenticate` values and
/// the body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (u16, Vec<String>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n{auth}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let challenges = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    (status, challenges, body.to_owned())
}

/// A request to the watcher API as `user` (user part) with `password`, answering the Digest
/// challenge (RFC 7616); the final status and body.
pub async fn api(
    server: &crate::harness::TestServer,
    user: &str,
    password: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let (status, challenges, text) = http(server.addrs.http, method, path, None, body).await;
    if status != 401 {
        return (status, text);
    }
    let parsed: Vec<parley_sip::header::AuthParams<'_>> = challenges
        .iter()
        .map(|c| parley_sip::header::AuthParams::parse(c, "WWW-Authenticate").unwrap())
        .collect();
    let challenge = parley_sip::auth::select_challenge(&parsed).expect("a digest challenge");
    let creds = parley_sip::auth::authorization(
        challenge,
        &parley_sip::auth::ClientRequest {
            username: user,
            password,
            method,
            uri: path,
            cnonce: &format!("c{}", unique()),
            nc: 1,
        },
    )
    .unwrap();
    let (status, _, text) = http(server.addrs.http, method, path, Some(&creds), body).await;
    (status, text)
}
