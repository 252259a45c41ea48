//! Publishing our presence (RFC 3903 §4): the event publication agent's side of the
//! entity-tag life cycle.
//!
//! ```text
//!            initial PUBLISH (body)            refresh (If-Match, no body)
//!   (none) ───────────────────────▶ Published(etag) ◀────────────┐
//!     ▲    ◀──── 412 on any ──────     │  │ modify (If-Match, body) │
//!     │          (start again)         │  └─────────────────────────┘
//!     └──────── remove (If-Match, Expires: 0) ◀┘
//! ```
//!
//! [`Publisher`] is sans-IO: it says which PUBLISH to send ([`Publisher::initial`],
//! [`Publisher::modify`], [`Publisher::refresh`], [`Publisher::remove`]) and reads each final
//! response ([`Publisher::handle_response`]); [`Publisher::poll_timeout`] is when to refresh.
//! [`PresencePublisher`] runs it over a [`UserAgent`].

use crate::agent::{UserAgent, USER_AGENT};
use crate::error::ClientError;
use crate::presence::PresenceState;
use crate::request::{self, RequestIds};
use bytes::Bytes;
use parley_net::resolve::ServerTarget;
use parley_presence::PIDF_CONTENT_TYPE;
use parley_sip::{HeaderName, Message, Method, Uri};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// One PUBLISH to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPlan {
    /// `SIP-If-Match`.
    pub if_match: Option<String>,
    /// The PIDF body (initial and modify).
    pub body: Option<String>,
    /// `Expires`.
    pub expires: u32,
}

/// What a final response to a PUBLISH means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// 2xx: the publication holds for `expires` seconds under the new entity-tag.
    Published { expires: u32 },
    /// 2xx to a removal.
    Removed,
    /// 412: the server forgot our publication; send this initial PUBLISH (RFC 3903 §4.4).
    Republish(PublishPlan),
    /// 423: send this again with the server's `Min-Expires`.
    Retry(PublishPlan),
    /// Any other failure.
    Failed { code: u16 },
}

/// The entity-tag state of one publication.
#[derive(Debug, Clone)]
pub struct Publisher {
    expires: u32,
    etag: Option<String>,
    /// The document last sent, for starting again after a 412.
    document: Option<String>,
    refresh_at: Option<Instant>,
}

/// When to refresh a publication granted for `granted` seconds: well before it lapses.
fn refresh_after(granted: u32) -> Duration {
    let secs = if granted > 120 {
        granted - 60
    } else {
        granted / 2
    };
    Duration::from_secs(u64::from(secs.max(1)))
}

impl Publisher {
    /// A publisher asking for `expires` seconds each time.
    pub fn new(expires: u32) -> Publisher {
        Publisher {
            expires: expires.max(1),
            etag: None,
            document: None,
            refresh_at: None,
        }
    }

    /// The current entity-tag, when published.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The initial PUBLISH of `document` (no `SIP-If-Match`).
    pub fn initial(&mut self, document: String) -> PublishPlan {
        self.etag = None;
        self.refresh_at = None;
        self.document = Some(document.clone());
        PublishPlan {
            if_match: None,
            body: Some(document),
            expires: self.expires,
        }
    }

    /// Replaces the document: a modify with `SIP-If-Match` when published, else an initial.
    pub fn modify(&mut self, document: String) -> PublishPlan {
        match self.etag.clone() {
            Some(etag) => {
                self.document = Some(document.clone());
                PublishPlan {
                    if_match: Some(etag),
                    body: Some(document),
                    expires: self.expires,
                }
            }
            None => self.initial(document),
        }
    }

    /// The refresh (no body, `SIP-If-Match`), when published.
    pub fn refresh(&mut self) -> Option<PublishPlan> {
        self.refresh_at = None;
        Some(PublishPlan {
            if_match: Some(self.etag.clone()?),
            body: None,
            expires: self.expires,
        })
    }

    /// The removal (`Expires: 0`, `SIP-If-Match`), when published.
    pub fn remove(&mut self) -> Option<PublishPlan> {
        self.refresh_at = None;
        Some(PublishPlan {
            if_match: Some(self.etag.clone()?),
            body: None,
            expires: 0,
        })
    }

    /// When to send the refresh.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.refresh_at
    }

    /// The final response to `sent`: its status, `SIP-ETag`, `Expires` and `Min-Expires`.
    pub fn handle_response(
        &mut self,
        now: Instant,
        sent: &PublishPlan,
        code: u16,
        etag: Option<&str>,
        expires: Option<u32>,
        min_expires: Option<u32>,
    ) -> PublishOutcome {
        match code {
            200..=299 if sent.expires == 0 => {
                self.etag = None;
                self.refresh_at = None;
                PublishOutcome::Removed
            }
            200..=299 => {
                let Some(etag) = etag.filter(|e| !e.is_empty()) else {
                    // A 2xx without SIP-ETag breaks RFC 3903 §6 step 8: nothing to refresh.
                    self.etag = None;
                    return PublishOutcome::Failed { code };
                };
                self.etag = Some(etag.to_owned());
                let granted = expires.unwrap_or(sent.expires).max(1);
                self.refresh_at = Some(now + refresh_after(granted));
                PublishOutcome::Published { expires: granted }
            }
            412 if sent.expires == 0 => {
                self.etag = None;
                PublishOutcome::Removed
            }
            412 => match self.document.clone() {
                Some(doc) => PublishOutcome::Republish(self.initial(doc)),
                None => PublishOutcome::Failed { code },
            },
            423 => match min_expires {
                Some(min) if min > sent.expires && sent.expires != 0 => {
                    self.expires = min;
                    PublishOutcome::Retry(PublishPlan {
                        expires: min,
                        ..sent.clone()
                    })
                }
                _ => PublishOutcome::Failed { code },
            },
            _ => PublishOutcome::Failed { code },
        }
    }
}

/// A PUBLISH for `account`'s presence (RFC 3903 §4, RFC 3856 §6): To, From and Request-URI
/// are the AOR, `Event: presence`.
pub fn publish_request(
    account: &crate::Aor,
    plan: &PublishPlan,
    ids: &RequestIds,
    agent: &str,
) -> Message {
    let aor = account.uri();
    let uri = Uri::parse(&aor).unwrap_or_else(|_| {
        Uri::Sip(parley_sip::uri::SipUri::new(parley_sip::uri::Host::Name(
            "invalid".into(),
        )))
    });
    let mut m = Message::request(Method::Publish, uri);
    let h = &mut m.headers;
    h.push(HeaderName::MaxForwards, request::MAX_FORWARDS);
    h.push(HeaderName::To, format!("<{aor}>"));
    h.push(HeaderName::From, format!("<{aor}>;tag={}", ids.from_tag));
    h.push(HeaderName::CallId, ids.call_id.clone());
    h.push(HeaderName::CSeq, format!("{} PUBLISH", ids.cseq));
    h.push(HeaderName::UserAgent, agent.to_owned());
    h.push(HeaderName::Event, "presence");
    h.push(HeaderName::Expires, plan.expires.to_string());
    if let Some(etag) = &plan.if_match {
        h.push(HeaderName::SipIfMatch, etag.clone());
    }
    match &plan.body {
        Some(body) => m.set_body(PIDF_CONTENT_TYPE, Bytes::from(body.clone())),
        None => m.set_content_length(),
    }
    m
}

/// What the publishing task reports.
#[derive(Debug)]
pub enum PublishEvent {
    Published {
        etag: String,
        expires: u32,
    },
    Removed,
    /// The server had lost our publication (412); it was published again.
    Republished,
    Failed(ClientError),
}

enum PublishCommand {
    Set(PresenceState),
    Stop(oneshot::Sender<()>),
}

/// Keeps our presence published: refreshes it, modifies it on [`PresencePublisher::set`],
/// starts again after a 412, and removes it on [`PresencePublisher::stop`].
#[derive(Debug)]
pub struct PresencePublisher {
    commands: mpsc::Sender<PublishCommand>,
    events: mpsc::Receiver<PublishEvent>,
    task: JoinHandle<()>,
}

impl PresencePublisher {
    /// Publishes `state` for `expires` seconds at a time.
    pub fn start(ua: &UserAgent, state: PresenceState, expires: u32) -> PresencePublisher {
        let (commands, mut rx) = mpsc::channel(16);
        let (events_tx, events) = mpsc::channel(16);
        let ua = ua.clone();
        let task = tokio::spawn(async move {
            let mut run = Run {
                ids: RequestIds {
                    call_id: format!("{}@{}", crate::agent::random_token(), ua.local_addr().ip()),
                    from_tag: crate::agent::random_token(),
                    cseq: 1,
                },
                ua,
                publisher: Publisher::new(expires),
                events: events_tx,
            };
            let entity = run.ua.account().uri();
            let first = run.publisher.initial(state.to_document(&entity).to_xml());
            run.send(first).await;
            loop {
                let wake = run.publisher.poll_timeout();
                let sleep = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    command = rx.recv() => match command {
                        Some(PublishCommand::Set(state)) => {
                            let plan = run.publisher.modify(state.to_document(&entity).to_xml());
                            run.send(plan).await;
                        }
                        Some(PublishCommand::Stop(done)) => {
                            if let Some(plan) = run.publisher.remove() {
                                run.send(plan).await;
                            }
                            let _ = done.send(());
                            return;
                        }
                        None => return,
                    },
                    () = sleep => {
                        if let Some(plan) = run.publisher.refresh() {
                            run.send(plan).await;
                        }
                    }
                }
            }
        });
        PresencePublisher {
            commands,
            events,
            task,
        }
    }

    /// Publishes a new state (a modify).
    pub async fn set(&self, state: PresenceState) -> Result<(), ClientError> {
        self.commands
            .send(PublishCommand::Set(state))
            .await
            .map_err(|_| ClientError::Stopped)
    }

    /// The next report (cancel-safe).
    pub async fn next_event(&mut self) -> Option<PublishEvent> {
        self.events.recv().await
    }

    /// Removes the publication (`Expires: 0`) and stops.
    pub async fn stop(self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(PublishCommand::Stop(done)).await.is_ok() {
            let _ = wait.await;
        }
        self.task.abort();
    }
}

struct Run {
    ua: UserAgent,
    ids: RequestIds,
    publisher: Publisher,
    events: mpsc::Sender<PublishEvent>,
}

impl Run {
    /// Sends `plan` and follows up 412 and 423 (at most a few times).
    async fn send(&mut self, mut plan: PublishPlan) {
        let mut republished = false;
        for _ in 0..3 {
            let account = self.ua.account().clone();
            let build = |ids: &RequestIds, _: &ServerTarget| {
                publish_request(&account, &plan, ids, USER_AGENT)
            };
            let response = match self.ua.request(&mut self.ids, build).await {
                Ok((r, _)) => r,
                Err(e) => {
                    let _ = self.events.try_send(PublishEvent::Failed(e));
                    return;
                }
            };
            let (code, reason) = request::status(&response);
            let etag = response
                .headers
                .get_str(&HeaderName::SipETag)
                .map(str::trim);
            let expires = response.expires().ok().flatten();
            let min = response.min_expires().ok().flatten();
            let outcome =
                self.publisher
                    .handle_response(Instant::now(), &plan, code, etag, expires, min);
            let event = match outcome {
                PublishOutcome::Published { expires } => {
                    if republished {
                        let _ = self.events.try_send(PublishEvent::Republished);
                    }
                    PublishEvent::Published {
                        etag: self.publisher.etag().unwrap_or_default().to_owned(),
                        expires,
                    }
                }
                PublishOutcome::Removed => PublishEvent::Removed,
                PublishOutcome::Republish(next) => {
                    republished = true;
                    plan = next;
                    continue;
                }
                PublishOutcome::Retry(next) => {
                    plan = next;
                    continue;
                }
                PublishOutcome::Failed { code } => {
                    PublishEvent::Failed(crate::agent::failure(code, reason, self.ua.account()))
                }
            };
            let _ = self.events.try_send(event);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entity_tag_life_cycle() {
        let now = Instant::now();
        let mut p = Publisher::new(600);
        assert_eq!(p.refresh(), None);
        let first = p.initial("<doc1/>".into());
        assert_eq!(first.if_match, None);
        assert_eq!(first.body.as_deref(), Some("<doc1/>"));
        let out = p.handle_response(now, &first, 200, Some("e1"), Some(300), None);
        assert_eq!(out, PublishOutcome::Published { expires: 300 });
        assert_eq!(p.poll_timeout(), Some(now + Duration::from_secs(240)));
        // Refresh: no body, If-Match, new tag.
        let refresh = p.refresh().unwrap();
        assert_eq!(
            (refresh.if_match.as_deref(), refresh.body.as_deref()),
            (Some("e1"), None)
        );
        p.handle_response(now, &refresh, 200, Some("e2"), None, None);
        assert_eq!(p.etag(), Some("e2"));
        // Modify.
        let modify = p.modify("<doc2/>".into());
        assert_eq!(modify.if_match.as_deref(), Some("e2"));
        assert_eq!(modify.body.as_deref(), Some("<doc2/>"));
        // 412: start again with the last document, no If-Match.
        let PublishOutcome::Republish(again) =
            p.handle_response(now, &modify, 412, None, None, None)
        else {
            panic!("412 must republish");
        };
        assert_eq!(again.if_match, None);
        assert_eq!(again.body.as_deref(), Some("<doc2/>"));
        assert_eq!(p.etag(), None);
        p.handle_response(now, &again, 200, Some("e3"), Some(600), None);
        // Remove.
        let remove = p.remove().unwrap();
        assert_eq!(
            (remove.expires, remove.if_match.as_deref()),
            (0, Some("e3"))
        );
        assert_eq!(
            p.handle_response(now, &remove, 200, Some("e3"), Some(0), None),
            PublishOutcome::Removed
        );
        assert_eq!(p.remove(), None);
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn interval_too_brief_and_missing_etag() {
        let now = Instant::now();
        let mut p = Publisher::new(30);
        let first = p.initial("<d/>".into());
        let PublishOutcome::Retry(retry) =
            p.handle_response(now, &first, 423, None, None, Some(60))
        else {
            panic!("423 with a larger Min-Expires retries");
        };
        assert_eq!(retry.expires, 60);
        assert_eq!(
            p.handle_response(now, &retry, 200, None, None, None),
            PublishOutcome::Failed { code: 200 }
        );
        assert_eq!(
            p.handle_response(now, &retry, 403, None, None, None),
            PublishOutcome::Failed { code: 403 }
        );
    }
}
