//! What happens to a request the router hands to the registrar or the proxy: one task per
//! request, which authenticates it, looks up what it needs in the store (on the blocking
//! pool), and hands it to the task that owns the state it changes (registrar, proxy) or
//! answers it.
//!
//! Requests for the proxy go through RFC 3261 §16.4 (our Route removed), then:
//! - along a route set we are part of (in-dialog requests we record-routed): forwarded to
//!   the next Route, or the Request-URI, whatever its domain (§16.12);
//! - to a user of ours: the sender authenticated when the rules of `crate::auth` say so
//!   (`407`, `403` if they are someone else than their From), `404` for an unknown user,
//!   `513` for an oversized MESSAGE, then forked to every live binding; with none, a MESSAGE
//!   is stored for later (`crate::im`) and anything else gets `480`;
//! - for another domain (or along Routes to other servers), when federation is on: from one
//!   of our users only (`403` otherwise), authenticated as its From (`407`) for every method
//!   when authentication is on, then forwarded to the next hop RFC 3263 locates (`404` when
//!   DNS gives none), with our Record-Route on dialog-creating requests; when federation is
//!   off, `403` (we relay for nobody).

use crate::auth::{proxy_challenges, strip_proxy_credentials, Challenger, DigestAuth, Verdict};
use crate::context::ServerContext;
use crate::im;
use crate::proxy::forward::{next_hop_uri, preprocess_routes};
use crate::proxy::next_hop::{binding_target, Hop};
use crate::proxy::{Forward, Origin, Target};
use crate::registrar::location::Lookup;
use crate::registrar::RegisterJob;
use crate::router::Decision;
use parley_sip::{HeaderName, Message, Method, Peer, SipUri, TransactionId, Transport, Uri};
use parley_store::{Address, Binding};
use std::net::SocketAddr;
use std::sync::Arc;

/// Which handler a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Registrar,
    Proxy,
}

impl Handler {
    pub fn of(decision: &Decision) -> Option<Handler> {
        match decision {
            Decision::Register => Some(Handler::Registrar),
            Decision::Proxy => Some(Handler::Proxy),
            Decision::Respond(_) | Decision::Absorb => None,
        }
    }
}

/// Handles one request; `tx` is `None` for an ACK to a 2xx.
pub async fn handle(
    ctx: Arc<ServerContext>,
    handler: Handler,
    tx: Option<TransactionId>,
    request: Message,
    peer: Peer,
) {
    match (handler, tx) {
        (Handler::Registrar, Some(tx)) => register(&ctx, tx, request, peer).await,
        (Handler::Proxy, _) => {
            let answer = route(&ctx, tx, request, &peer).await;
            if let (Some(tx), Some(answer)) = (tx, answer) {
                ctx.respond(tx, answer).await;
            }
        }
        (Handler::Registrar, None) => {}
    }
}

/// The address of record a URI names, if it is a user at one of our domains.
pub fn local_user(ctx: &ServerContext, uri: &Uri) -> Option<Address> {
    let sip = uri.as_sip()?;
    let user = sip.user_unescaped()?;
    if !ctx.domains.is_local(&sip.host, sip.port) {
        return None;
    }
    // One buffer rather than `format!`: every request for a user of ours comes here.
    let mut text = user;
    text.push('@');
    match &sip.host {
        parley_sip::Host::Name(n) => text.push_str(n.trim_end_matches('.')),
        parley_sip::Host::Ip(ip) => {
            use std::fmt::Write;
            // Infallible: writing to a String cannot fail.
            let _ = write!(text, "{ip}");
        }
    }
    Address::parse(&text).ok()
}

/// Whether a Request-URI is a number or names one of our domains.
fn addresses_our_domain(ctx: &ServerContext, uri: Option<&Uri>) -> bool {
    match uri {
        Some(Uri::Tel(_)) => true,
        Some(Uri::Sip(sip)) => ctx.domains.is_local(&sip.host, sip.port),
        _ => false,
    }
}

/// REGISTER (§10.3 steps 4–5 here; the rest in `crate::registrar`).
async fn register(ctx: &Arc<ServerContext>, tx: TransactionId, request: Message, peer: Peer) {
    let aor = request
        .to_header()
        .ok()
        .and_then(|to| local_user(ctx, &to.uri));
    let Some(aor) = aor else {
        let r = ctx.response(&request, 404, "Not Found (not a user of this domain)");
        return ctx.respond(tx, r).await;
    };
    let refusal = match &ctx.auth {
        Some(auth) => authenticate(ctx, auth, &request, Challenger::Registrar, &aor)
            .await
            .err(),
        // Without authentication every address at our domains is a user (`is_user`).
        None => None,
    };
    if let Some(r) = refusal {
        return ctx.respond(tx, r).await;
    }
    let job = RegisterJob {
        tx,
        request,
        peer,
        aor,
    };
    if !ctx.registrations.submit(job).await {
        tracing::debug!("registrar stopped; REGISTER dropped");
    }
}

/// Checks the credentials of `request` for `claimed`'s realm: `Ok` when they authenticate
/// `claimed`, otherwise the response to send (a challenge, `403`, or `500`).
async fn authenticate(
    ctx: &ServerContext,
    auth: &DigestAuth,
    request: &Message,
    who: Challenger,
    claimed: &Address,
) -> Result<(), Message> {
    let realm = claimed.domain().to_owned();
    let user = match DigestAuth::claimed_user(request, who, &realm) {
        Some(name) => match ctx.store(move |s| s.user(&name)).await {
            Ok(user) => user,
            Err(e) => return Err(store_failure(ctx, request, &e)),
        },
        None => None,
    };
    let now = ctx.clock.now().as_unix_secs();
    match auth.verify(request, who, &realm, user.as_ref(), now) {
        Verdict::Authenticated(user) if &user == claimed => Ok(()),
        Verdict::Authenticated(user) => {
            tracing::debug!(%user, claimed = %claimed, "authenticated as someone else");
            Err(ctx.response(request, 403, "Forbidden (authenticated as another user)"))
        }
        Verdict::Challenge { stale } => {
            let (code, reason) = who.status();
            let mut r = ctx.response(request, code, reason);
            for value in auth.challenge(&realm, now, stale) {
                r.headers.push(who.challenge_header(), value);
            }
            Err(r)
        }
    }
}

fn store_failure(ctx: &ServerContext, request: &Message, e: &parley_store::StoreError) -> Message {
    tracing::warn!(error = %e, "store unavailable");
    ctx.response(request, 500, "Server Internal Error (store unavailable)")
}

/// Routes a request for the proxy; `Some` is the answer to send ourselves.
async fn route(
    ctx: &ServerContext,
    tx: Option<TransactionId>,
    mut request: Message,
    peer: &Peer,
) -> Option<Message> {
    let is_us = |u: &SipUri| u.user.is_none() && ctx.domains.is_local(&u.host, u.port);
    let along_our_route = preprocess_routes(&mut request, is_us);
    let in_dialog = request.to_tag().ok().flatten().is_some();
    let has_routes = request.headers.get(&HeaderName::Route).is_some();
    let user = match has_routes {
        true => None,
        false => request.uri().and_then(|u| local_user(ctx, u)),
    };
    let presence_subscribe =
        request.method() == Some(&Method::Subscribe) && crate::presence::is_presence(&request);
    if presence_subscribe && in_dialog && !has_routes && user.is_some() {
        let tx = tx?;
        let job = crate::presence::PresenceJob::Resubscribe {
            tx,
            request,
            peer: *peer,
        };
        if !ctx.presence.submit(job).await {
            tracing::debug!("presence task stopped; SUBSCRIBE dropped");
        }
        return None;
    }
    match user {
        Some(aor) => route_to_user(ctx, tx, request, peer, aor).await,
        // Within a dialog we record-routed, the next hop may be anywhere (§16.12).
        None if along_our_route && in_dialog => {
            let origin = match tx {
                Some(tx) => Origin::Server { tx },
                None => Origin::Stateless,
            };
            let hops = match next_hop_uri(&request) {
                Some(uri) => ctx.resolver.resolve(&uri).await,
                None => Vec::new(),
            };
            let forward = Forward {
                origin,
                request,
                targets: vec![next_hop_target(hops)],
                record_route: None,
            };
            if ctx.proxy.forward(forward).await.is_err() {
                tracing::debug!("proxy stopped; request dropped");
            }
            None
        }
        None if tx.is_none() => None,
        // A number, or a user part no user of ours can have.
        None if !has_routes && addresses_our_domain(ctx, request.uri()) => {
            Some(ctx.response(&request, 404, "Not Found"))
        }
        None if ctx.federation => route_elsewhere(ctx, tx, request, peer).await,
        None => Some(ctx.response(
            &request,
            403,
            "Forbidden (relaying to other domains is not enabled)",
        )),
    }
}

/// The target of a request that keeps its Request-URI: the hops RFC 3263 gave, in order.
fn next_hop_target(mut hops: Vec<Hop>) -> Target {
    let alternates = match hops.len() {
        0 => Vec::new(),
        _ => hops.split_off(1),
    };
    Target {
        uri: None,
        flow: None,
        destination: hops.pop(),
        alternates,
    }
}

/// A request of one of our users for another domain, federation on: forwarded to the next
/// hop located by RFC 3263 (the first Route, else the Request-URI).
async fn route_elsewhere(
    ctx: &ServerContext,
    tx: Option<TransactionId>,
    mut request: Message,
    peer: &Peer,
) -> Option<Message> {
    let tx = tx?;
    let method = request.method().cloned()?;
    let sender = request
        .from_header()
        .ok()
        .and_then(|from| local_user(ctx, &from.uri));
    let Some(sender) = sender else {
        return Some(ctx.response(&request, 403, "Forbidden (we relay only for our users)"));
    };
    if let Some(auth) = &ctx.auth {
        if let Err(r) = authenticate(ctx, auth, &request, Challenger::Proxy, &sender).await {
            return Some(r);
        }
        strip_proxy_credentials(&mut request, sender.domain());
    }
    if method == Method::Message && im::body_too_large(&request, ctx.messaging.max_body_size) {
        return Some(ctx.response(&request, 513, "Message Too Large"));
    }
    let hops = match next_hop_uri(&request) {
        Some(uri) => ctx.resolver.resolve(&uri).await,
        None => Vec::new(),
    };
    if hops.is_empty() {
        return Some(ctx.response(&request, 404, "Not Found (no SIP server for the domain)"));
    }
    let in_dialog = request.to_tag().ok().flatten().is_some();
    let dialog_creating = matches!(method, Method::Invite | Method::Subscribe) && !in_dialog;
    let forward = Forward {
        origin: Origin::Server { tx },
        record_route: dialog_creating.then(|| record_route_uri(ctx, peer)),
        request,
        targets: vec![next_hop_target(hops)],
    };
    if ctx.proxy.forward(forward).await.is_err() {
        tracing::debug!("proxy stopped; request dropped");
    }
    None
}

/// A request for the user `aor` (§16.5): authentication, existence, bindings, then the proxy
/// or the offline store.
async fn route_to_user(
    ctx: &ServerContext,
    tx: Option<TransactionId>,
    mut request: Message,
    peer: &Peer,
    aor: Address,
) -> Option<Message> {
    // An ACK to a 2xx goes to the remote target, never to an address of record.
    let tx = tx?;
    let method = request.method().cloned()?;
    if method == Method::Message && im::body_too_large(&request, ctx.messaging.max_body_size) {
        return Some(ctx.response(&request, 513, "Message Too Large"));
    }
    let in_dialog = request.to_tag().ok().flatten().is_some();
    // Who sends matters to authentication and to PUBLISH and SUBSCRIBE only: a MESSAGE relayed
    // without authentication skips parsing its From.
    let sender = (ctx.auth.is_some() || matches!(method, Method::Publish | Method::Subscribe))
        .then(|| {
            request
                .from_header()
                .ok()
                .and_then(|from| local_user(ctx, &from.uri))
        })
        .flatten();
    if let (Some(auth), Some(sender)) = (&ctx.auth, &sender) {
        if proxy_challenges(&method, true, in_dialog) {
            if let Err(r) = authenticate(ctx, auth, &request, Challenger::Proxy, sender).await {
                return Some(r);
            }
            strip_proxy_credentials(&mut request, sender.domain());
        }
    }
    let publishes_presence =
        crate::presence::Package::of(&request) == Some(crate::presence::Package::Presence);
    if method == Method::Publish && !in_dialog && publishes_presence {
        return publish(ctx, tx, request, sender.as_ref(), aor).await;
    }
    if method == Method::Subscribe && !in_dialog {
        if let Some(package) = crate::presence::Package::of(&request) {
            return subscribe(ctx, tx, request, peer, aor, sender.as_ref(), package).await;
        }
    }
    let bindings = match user_bindings(ctx, &aor).await {
        Ok(Some(b)) => b,
        Ok(None) => return Some(ctx.response(&request, 404, "Not Found")),
        Err(e) => return Some(store_failure(ctx, &request, &e)),
    };
    let mut targets = Vec::with_capacity(bindings.len());
    for b in bindings.iter() {
        targets.extend(binding_target(&ctx.resolver, b).await);
    }
    if targets.is_empty() {
        // A request that already passed through us is never stored: it would be stored
        // again by every pass of a loop.
        if method == Method::Message && !passed_through_us(ctx, &request) {
            return Some(im::store_offline(ctx, &request, &aor).await);
        }
        return Some(ctx.response(&request, 480, "Temporarily Unavailable"));
    }
    let dialog_creating = matches!(method, Method::Invite | Method::Subscribe) && !in_dialog;
    let forward = Forward {
        origin: Origin::Server { tx },
        record_route: dialog_creating.then(|| record_route_uri(ctx, peer)),
        request,
        targets,
    };
    if ctx.proxy.forward(forward).await.is_err() {
        tracing::debug!("proxy stopped; request dropped");
    }
    None
}

/// The live bindings of `aor`, `None` if it is not a user of ours. Registered users are
/// found in memory (`crate::registrar::location`); with authentication on, the account is
/// checked in the store first, as it may have been removed since it registered.
async fn user_bindings(
    ctx: &ServerContext,
    aor: &Address,
) -> Result<Option<Arc<[Binding]>>, parley_store::StoreError> {
    let now = ctx.clock.now();
    if ctx.auth.is_some() && !ctx.is_user(aor).await? {
        return Ok(None);
    }
    let seen = match ctx.location.live(aor, now) {
        Lookup::Bindings(b) => return Ok(Some(b)),
        Lookup::Miss(seen) => seen,
    };
    let key = aor.clone();
    let read = ctx.store(move |s| s.live_bindings(&key, now)).await?;
    ctx.location.fill(aor, seen, &read);
    Ok(Some(read.into()))
}

/// A PUBLISH of presence state for our user `aor` (`crate::presence`): only `aor` may
/// publish it (`403` otherwise, once authenticated when authentication is on).
async fn publish(
    ctx: &ServerContext,
    tx: TransactionId,
    request: Message,
    sender: Option<&Address>,
    aor: Address,
) -> Option<Message> {
    if sender != Some(&aor) {
        return Some(ctx.response(
            &request,
            403,
            "Forbidden (only the presentity may publish its state)",
        ));
    }
    match ctx.is_user(&aor).await {
        Ok(true) => {}
        Ok(false) => return Some(ctx.response(&request, 404, "Not Found")),
        Err(e) => return Some(store_failure(ctx, &request, &e)),
    }
    let job = crate::presence::PresenceJob::Publish {
        tx,
        request,
        presentity: aor,
    };
    if !ctx.presence.submit(job).await {
        tracing::debug!("presence task stopped; PUBLISH dropped");
    }
    None
}

/// A SUBSCRIBE to the presence of our user `aor` (the server is the notifier, RFC 3856 §6),
/// or to their watcher information, which only `aor` themself may see (RFC 3857 §5.1).
async fn subscribe(
    ctx: &ServerContext,
    tx: TransactionId,
    request: Message,
    peer: &Peer,
    aor: Address,
    sender: Option<&Address>,
    package: crate::presence::Package,
) -> Option<Message> {
    if package == crate::presence::Package::Winfo && sender != Some(&aor) {
        let mut r = ctx.response(
            &request,
            403,
            "Forbidden (only the user may watch their own watchers)",
        );
        r.headers
            .push(HeaderName::AllowEvents, crate::presence::ALLOW_EVENTS);
        return Some(r);
    }
    let watcher = request.from_header().ok().and_then(|f| {
        let sip = f.uri.as_sip()?;
        let host = match &sip.host {
            parley_sip::Host::Name(n) => n.trim_end_matches('.').to_owned(),
            parley_sip::Host::Ip(ip) => ip.to_string(),
        };
        Address::parse(&format!("{}@{host}", sip.user_unescaped()?)).ok()
    });
    let Some(watcher) = watcher else {
        return Some(ctx.response(&request, 400, "Bad Request (From is not a SIP address)"));
    };
    match ctx.is_user(&aor).await {
        Ok(true) => {}
        Ok(false) => return Some(ctx.response(&request, 404, "Not Found")),
        Err(e) => return Some(store_failure(ctx, &request, &e)),
    }
    let job = crate::presence::PresenceJob::Subscribe {
        tx,
        request,
        peer: *peer,
        resource: aor,
        watcher,
        package,
    };
    if !ctx.presence.submit(job).await {
        tracing::debug!("presence task stopped; SUBSCRIBE dropped");
    }
    None
}

/// Whether a Via of the request names one of our listeners.
fn passed_through_us(ctx: &ServerContext, request: &Message) -> bool {
    request.vias().flatten().any(|via| {
        ctx.listeners.iter().any(|(_, addr)| {
            matches!(via.host, parley_sip::Host::Ip(ip) if ip == addr.ip())
                && via.port.unwrap_or(5060) == addr.port()
        })
    })
}

/// Our Record-Route URI for a request that arrived at `peer.local` (§16.6 step 4): an address
/// the other side can reach us at, with `lr` (we are a loose router), and the transport when
/// it is not UDP. A wildcard listener is named by one of the host's addresses on its port.
pub fn record_route_uri(ctx: &ServerContext, peer: &Peer) -> String {
    let local = peer.local;
    let addr: SocketAddr = if local.ip().is_unspecified() {
        ctx.domains
            .addresses()
            .iter()
            .find(|a| a.port() == local.port() && a.is_ipv4() == local.is_ipv4())
            .copied()
            .unwrap_or(local)
    } else {
        local
    };
    let transport = match peer.transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
        Transport::Tls => ";transport=tls",
        Transport::Ws => ";transport=ws",
        Transport::Wss => ";transport=wss",
    };
    format!("sip:{addr}{transport};lr")
}
