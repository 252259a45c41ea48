//! The presentity's answers to its watchers over HTTP (issue 4, `confirm` policy), on the
//! server's HTTP listener:
//!
//! - `GET /api/v1/presence/watchers`: the caller's watchers (their subscriptions with state,
//!   as watcher information reports them, RFC 3857 §3.2) and the decisions stored; JSON.
//! - `PUT /api/v1/presence/watchers/{watcher}` with body `allow`, `block` or `polite-block`
//!   (RFC 5025 §3.2.1 `sub-handling`): stores the decision and applies it at once to the
//!   watcher's live subscriptions.
//! - `DELETE /api/v1/presence/watchers/{watcher}`: forgets the decision (`404` if none).
//! - The same under `/api/v1/users/{user}/presence/watchers`, naming the presentity
//!   explicitly: `403` unless it is the caller.
//!
//! Every request is authenticated with HTTP Digest (RFC 7616) against the user's stored HA1,
//! realm = their domain: `401` with `WWW-Authenticate` (SHA-256 then MD5, `qop=auth`) when
//! credentials are missing or wrong. A user only ever reads and changes their own decisions.
//! Bad input gets a `400` with the reason in a text body.

use super::{PresenceJob, WatcherRow};
use crate::context::ServerContext;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parley_sip::auth::{
    Authenticator, Credentials, NonceCounts, NonceKey, Outcome, RequestInfo, UriCheck,
};
use parley_sip::header::AuthParams;
use parley_store::presence::{WatcherAuthorization, WatcherDecision};
use parley_store::Address;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// Longest accepted body of a PUT.
const MAX_BODY: usize = 64;

/// What the handlers share.
#[derive(Clone, Debug)]
struct ApiState {
    ctx: Arc<ServerContext>,
    digest: Arc<HttpDigest>,
}

/// HTTP Digest (RFC 7616) with the SIP stack's digest code: its own nonce key and replay
/// memory.
#[derive(Debug)]
struct HttpDigest {
    authenticator: Authenticator,
    counts: Mutex<NonceCounts>,
}

/// The routes of the API.
pub fn router(ctx: Arc<ServerContext>) -> axum::Router {
    let secret: [u8; 32] = rand::random();
    let mut authenticator = Authenticator::new(NonceKey::new(&secret, rand::random()));
    // The `uri` parameter is compared with the request target below, not as a SIP URI.
    authenticator.uri_check = UriCheck::Off;
    authenticator.allow_rfc2069 = false;
    let state = ApiState {
        ctx,
        digest: Arc::new(HttpDigest {
            authenticator,
            counts: Mutex::new(NonceCounts::new(
                parley_sip::auth::replay::DEFAULT_NONCE_COUNT_CAPACITY,
            )),
        }),
    };
    axum::Router::new()
        .route("/api/v1/presence/watchers", get(list))
        .route(
            "/api/v1/presence/watchers/{watcher}",
            axum::routing::put(decide).delete(forget),
        )
        .route("/api/v1/users/{user}/presence/watchers", get(list_of))
        .route(
            "/api/v1/users/{user}/presence/watchers/{watcher}",
            axum::routing::put(decide_of).delete(forget_of),
        )
        .with_state(state)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "watcher API: store unavailable");
    text(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
}

/// The realm to challenge with: the domain named by the `Host` header if it is ours, else the
/// first domain served.
fn realm_for(ctx: &ServerContext, headers: &HeaderMap) -> String {
    let names = ctx.domains.names();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name));
    host.and_then(|h| names.iter().find(|n| n.eq_ignore_ascii_case(h)))
        .or_else(|| names.first())
        .cloned()
        .unwrap_or_default()
}

/// The authenticated caller, or the `401` to answer.
async fn caller(
    api: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Address, Response> {
    let now = api.ctx.clock.now().as_unix_secs();
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut realm_challenged = realm_for(&api.ctx, headers);
    let values: Vec<&str> = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let params: Vec<AuthParams<'_>> = values
        .iter()
        .filter_map(|v| AuthParams::parse(v, "Authorization").ok())
        .collect();
    let names = api.ctx.domains.names();
    let creds = params
        .iter()
        .filter_map(|p| Credentials::parse(p).ok())
        .find(|c| names.iter().any(|n| n.eq_ignore_ascii_case(&c.realm)));
    let mut stale = false;
    if let Some(creds) = creds {
        let realm = creds.realm.clone().into_owned();
        // A client that knows its realm is challenged in it again (a stale nonce, a typo).
        realm_challenged.clone_from(&realm);
        let name = creds.username.as_ref();
        let claimed = match name.contains('@') {
            true => Address::parse(name).ok(),
            false => Address::parse(&format!("{name}@{realm}")).ok(),
        };
        if let Some(claimed) = claimed {
            let key = claimed.clone();
            let user = match api.ctx.store(move |s| s.user(&key)).await {
                Ok(u) => u,
                Err(e) => return Err(unavailable(e)),
            };
            let ha1s = user
                .filter(|u| u.ha1.realm == realm && creds.uri == target)
                .map(|u| parley_sip::auth::Ha1s {
                    md5: u.ha1.md5,
                    sha256: u.ha1.sha256,
                });
            let request_uri = parley_sip::Uri::Other {
                scheme: "http".into(),
                rest: target.into(),
            };
            let info = RequestInfo {
                method: method.as_str(),
                request_uri: &request_uri,
                realm: &realm,
            };
            let outcome = {
                let mut counts = api
                    .digest
                    .counts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                api.digest
                    .authenticator
                    .verify(&creds, &info, ha1s.as_ref(), now, &mut counts)
            };
            match outcome {
                Outcome::Ok { .. } => return Ok(claimed),
                Outcome::Stale(_) => stale = true,
                Outcome::Invalid(why) => {
                    tracing::debug!(user = %claimed, %why, "HTTP credentials refused")
                }
                Outcome::UnknownAlgorithm => {}
            }
        }
    }
    let mut r = text(StatusCode::UNAUTHORIZED, "authentication required");
    for value in api
        .digest
        .authenticator
        .challenge(&realm_challenged, now, stale)
    {
        if let Ok(v) = value.parse() {
            r.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    Err(r)
}

/// The authenticated caller, who must be `owner` when the path names one (`403` otherwise).
async fn owner(
    api: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    owner: Option<&str>,
) -> Result<Address, Response> {
    let me = caller(api, method, uri, headers).await?;
    if let Some(named) = owner {
        let named = named.strip_prefix("sip:").unwrap_or(named);
        if Address::parse(named).ok().as_ref() != Some(&me) {
            return Err(text(
                StatusCode::FORBIDDEN,
                "you may only see and change your own watchers",
            ));
        }
    }
    Ok(me)
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_opt_number(n: Option<u64>) -> String {
    n.map_or("null".to_owned(), |n| n.to_string())
}

fn decision_name(d: WatcherDecision) -> &'static str {
    match d {
        WatcherDecision::Allow => "allow",
        WatcherDecision::Block => "block",
        WatcherDecision::PoliteBlock => "polite-block",
    }
}

/// The JSON of `GET /api/v1/presence/watchers`.
fn watchers_json(
    presentity: &Address,
    rows: &[WatcherRow],
    decisions: &[WatcherAuthorization],
) -> String {
    let watchers: Vec<String> = rows
        .iter()
        .map(|w| {
            format!(
                "{{\"id\":{},\"watcher\":{},\"display_name\":{},\"status\":{},\"event\":{},\"expires\":{},\"duration_subscribed\":{}}}",
                json_string(&w.id),
                json_string(w.uri.strip_prefix("sip:").unwrap_or(&w.uri)),
                w.display_name.as_deref().map_or("null".to_owned(), json_string),
                json_string(w.status.as_str()),
                json_string(w.event.as_str()),
                json_opt_number(w.expiration),
                json_opt_number(w.duration_subscribed),
            )
        })
        .collect();
    let decisions: Vec<String> = decisions
        .iter()
        .map(|d| {
            format!(
                "{{\"watcher\":{},\"decision\":{}}}",
                json_string(d.watcher.as_str()),
                json_string(decision_name(d.decision))
            )
        })
        .collect();
    format!(
        "{{\"presentity\":{},\"watchers\":[{}],\"decisions\":[{}]}}\n",
        json_string(presentity.as_str()),
        watchers.join(","),
        decisions.join(",")
    )
}

async fn list(
    State(api): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    watchers(api, method, uri, headers, None).await
}

async fn list_of(
    State(api): State<ApiState>,
    Path(user): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    watchers(api, method, uri, headers, Some(user)).await
}

async fn watchers(
    api: ApiState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    user: Option<String>,
) -> Response {
    let me = match owner(&api, &method, &uri, &headers, user.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (reply, rows) = oneshot::channel();
    let job = PresenceJob::Watchers {
        presentity: me.clone(),
        reply,
    };
    if !api.ctx.presence.submit(job).await {
        return text(StatusCode::SERVICE_UNAVAILABLE, "presence service stopped");
    }
    let Ok(rows) = rows.await else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "presence service stopped");
    };
    let key = me.clone();
    let decisions = match api.ctx.store(move |s| s.list_authorizations(&key)).await {
        Ok(d) => d,
        Err(e) => return unavailable(e),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        watchers_json(&me, &rows, &decisions),
    )
        .into_response()
}

/// The watcher named in the path: `user@domain`, with or without `sip:`.
fn watcher_of(path: &str, me: &Address) -> Result<Address, String> {
    let bare = path
        .strip_prefix("sip:")
        .or_else(|| path.strip_prefix("sips:"))
        .unwrap_or(path);
    let watcher = Address::parse(bare)
        .map_err(|e| format!("the watcher must be an address like bob@example.com ({e})"))?;
    if &watcher == me {
        return Err("you always see your own presence; no decision needed".to_owned());
    }
    Ok(watcher)
}

/// The authenticated caller (see [`owner`]) and the watcher the path names.
async fn owner_and_watcher(
    api: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    user: Option<String>,
    watcher: &str,
) -> Result<(Address, Address), Response> {
    let me = owner(api, method, uri, headers, user.as_deref()).await?;
    let watcher = watcher_of(watcher, &me).map_err(|why| text(StatusCode::BAD_REQUEST, why))?;
    Ok((me, watcher))
}

/// Applies a stored change to the live subscriptions of `watcher`.
async fn reconsider(api: &ApiState, presentity: Address, watcher: Address) -> Option<Response> {
    let (done, finished) = oneshot::channel();
    let job = PresenceJob::Reconsider {
        presentity,
        watcher,
        done,
    };
    if !api.ctx.presence.submit(job).await || finished.await.is_err() {
        return Some(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "presence service stopped",
        ));
    }
    None
}

async fn decide(
    State(api): State<ApiState>,
    Path(watcher): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    store_decision(api, (None, watcher), method, uri, headers, body).await
}

async fn decide_of(
    State(api): State<ApiState>,
    Path((user, watcher)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    store_decision(api, (Some(user), watcher), method, uri, headers, body).await
}

async fn store_decision(
    api: ApiState,
    (user, watcher): (Option<String>, String),
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (me, watcher) = match owner_and_watcher(&api, &method, &uri, &headers, user, &watcher).await
    {
        Ok(both) => both,
        Err(r) => return r,
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body must be allow, block or polite-block",
        );
    };
    let decision = match std::str::from_utf8(&bytes).map(str::trim) {
        Ok("allow") => WatcherDecision::Allow,
        Ok("block") => WatcherDecision::Block,
        Ok("polite-block") => WatcherDecision::PoliteBlock,
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "the body must be allow, block or polite-block",
            )
        }
    };
    let (p, w) = (me.clone(), watcher.clone());
    if let Err(e) = api
        .ctx
        .store(move |s| s.set_authorization(&p, &w, decision))
        .await
    {
        return unavailable(e);
    }
    tracing::info!(presentity = %me, watcher = %watcher, decision = decision_name(decision), "watcher decision stored");
    if let Some(r) = reconsider(&api, me, watcher.clone()).await {
        return r;
    }
    text(
        StatusCode::OK,
        format!("{watcher}: {}", decision_name(decision)),
    )
}

async fn forget(
    State(api): State<ApiState>,
    Path(watcher): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    forget_decision(api, (None, watcher), method, uri, headers).await
}

async fn forget_of(
    State(api): State<ApiState>,
    Path((user, watcher)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    forget_decision(api, (Some(user), watcher), method, uri, headers).await
}

async fn forget_decision(
    api: ApiState,
    (user, watcher): (Option<String>, String),
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (me, watcher) = match owner_and_watcher(&api, &method, &uri, &headers, user, &watcher).await
    {
        Ok(both) => both,
        Err(r) => return r,
    };
    let (p, w) = (me.clone(), watcher.clone());
    match api.ctx.store(move |s| s.remove_authorization(&p, &w)).await {
        Ok(true) => {}
        Ok(false) => {
            return text(
                StatusCode::NOT_FOUND,
                format!("no decision about {watcher}"),
            )
        }
        Err(e) => return unavailable(e),
    }
    if let Some(r) = reconsider(&api, me, watcher).await {
        return r;
    }
    StatusCode::NO_CONTENT.into_response()
}
