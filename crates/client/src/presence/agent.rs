//! [`PresenceAgent`]: the task that owns a user agent's subscriptions, both ways.
//!
//! - As watcher (RFC 3856 §5, RFC 6665 §4.1): SUBSCRIBE `Event: presence` with
//!   `Accept: application/pidf+xml`, or `Event: presence.winfo` with
//!   `Accept: application/watcherinfo+xml` (RFC 3857), run by
//!   [`parley_sip::subscription::Subscriber`]; each NOTIFY becomes a [`PresenceEvent`].
//! - As its own presence agent (RFC 3856 §3.3, the end-to-end model): it answers SUBSCRIBEs
//!   for our address with [`parley_sip::subscription::Subscription`] and sends NOTIFYs with
//!   our current PIDF whenever [`PresenceAgent::set_state`] changes it (rate-controlled by
//!   the state machine).
//!
//! The user agent's core hands SUBSCRIBE and NOTIFY requests here; the agent answers them and
//! sends its own requests with [`UserAgent::send_request`] on spawned tasks whose outcomes
//! come back into the loop. Timers are the state machines' `poll_timeout`s.

use crate::account::Aor;
use crate::agent::{random_token, UserAgent};
use crate::error::ClientError;
use crate::presence::{PresenceState, PresenceSummary};
use crate::ua_core::DialogRequest;
use parley_presence::winfo::{WatcherInfoView, WatcherStatus};
use parley_presence::{Presence, WatcherInfo, PIDF_CONTENT_TYPE, WATCHERINFO_CONTENT_TYPE};
use parley_sip::subscription::{
    Authorization, NotifierAction, NotifierConfig, Reason, Subscriber, SubscriberAction,
    Subscription,
};
use parley_sip::{HeaderName, Message, Method, Uri};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long [`PresenceAgent::stop`] waits for unsubscribes and final NOTIFYs.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceEvent {
    /// A watched presentity's state (from a NOTIFY with a PIDF body).
    Presence {
        who: String,
        summary: PresenceSummary,
    },
    /// Our watcher list changed (a `presence.winfo` NOTIFY), as display lines, with the
    /// watchers (`user@domain`) among them awaiting our decision.
    Watchers {
        lines: Vec<String>,
        pending: Vec<String>,
    },
    /// A watch ended (refused, expired, terminated by the notifier, or unsubscribed).
    WatchEnded { who: String, reason: String },
    /// Someone subscribed to our own presence (serve-self).
    Subscribed { watcher: String },
    /// A subscription to our own presence ended.
    Unsubscribed { watcher: String },
}

enum AgentCommand {
    Watch { target: String, winfo: bool },
    SetState(PresenceState),
    Stop(oneshot::Sender<()>),
}

/// A handle on the presence task of a [`UserAgent`].
#[derive(Debug)]
pub struct PresenceAgent {
    commands: mpsc::Sender<AgentCommand>,
    events: mpsc::Receiver<PresenceEvent>,
    task: JoinHandle<()>,
}

impl PresenceAgent {
    /// Starts the agent on `ua`. With `serve_self`, it answers SUBSCRIBEs for our own
    /// presence with that state; otherwise they get `489 Bad Event`.
    pub fn start(ua: &UserAgent, serve_self: Option<PresenceState>) -> PresenceAgent {
        let (requests_tx, requests) = mpsc::channel(256);
        *ua.dialog_route()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(requests_tx);
        let (commands, commands_rx) = mpsc::channel(64);
        let (events_tx, events) = mpsc::channel(1024);
        let (outcomes_tx, outcomes) = mpsc::channel(256);
        let local_target = Uri::parse(&ua.contact()).ok();
        let run = Run {
            ua: ua.clone(),
            local_target,
            self_state: serve_self,
            config: NotifierConfig::default(),
            watches: Vec::new(),
            served: Vec::new(),
            next_id: 0,
            events: events_tx,
            outcomes_tx,
        };
        let task = tokio::spawn(run.run(requests, commands_rx, outcomes));
        PresenceAgent {
            commands,
            events,
            task,
        }
    }

    /// Watches `target`'s presence.
    pub async fn watch(&self, target: Aor) -> Result<(), ClientError> {
        self.watch_address(&target.uri()).await
    }

    /// Watches the presence at a SIP URI, e.g. a user agent's contact
    /// `sip:alice@192.0.2.5:5062` (RFC 3856 §3.3, no server involved).
    pub async fn watch_address(&self, uri: &str) -> Result<(), ClientError> {
        self.send(AgentCommand::Watch {
            target: uri.to_owned(),
            winfo: false,
        })
        .await
    }

    /// Watches our own watcher list (`presence.winfo` of our account).
    pub async fn watch_watchers(&self, account: Aor) -> Result<(), ClientError> {
        self.send(AgentCommand::Watch {
            target: account.uri(),
            winfo: true,
        })
        .await
    }

    /// Our presence changed: watchers of our own address are notified.
    pub async fn set_state(&self, state: PresenceState) -> Result<(), ClientError> {
        self.send(AgentCommand::SetState(state)).await
    }

    /// The next report (cancel-safe); `None` once stopped.
    pub async fn next_event(&mut self) -> Option<PresenceEvent> {
        self.events.recv().await
    }

    /// Unsubscribes every watch, ends every subscription to us with a final NOTIFY, and
    /// stops (waiting at most a few seconds).
    pub async fn stop(self) {
        let (done, wait) = oneshot::channel();
        if self.send(AgentCommand::Stop(done)).await.is_ok() {
            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(1), wait).await;
        }
        self.task.abort();
    }

    async fn send(&self, command: AgentCommand) -> Result<(), ClientError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| ClientError::Stopped)
    }
}

struct Watch {
    id: u64,
    who: String,
    call_id: String,
    sub: Subscriber,
    winfo: Option<WatcherInfoView>,
}

struct Served {
    id: u64,
    watcher: String,
    sub: Subscription,
}

enum Key {
    Watch(u64),
    Served(u64),
}

struct Run {
    ua: UserAgent,
    local_target: Option<Uri>,
    self_state: Option<PresenceState>,
    config: NotifierConfig,
    watches: Vec<Watch>,
    served: Vec<Served>,
    next_id: u64,
    events: mpsc::Sender<PresenceEvent>,
    outcomes_tx: mpsc::Sender<(Key, Result<Message, ClientError>)>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `user@host` of a URI (the URI itself when it is not SIP).
fn who(uri: &Uri) -> String {
    match uri {
        Uri::Sip(s) => match &s.user {
            Some(u) => format!("{}@{}", parley_sip::uri::unescape(u), s.host),
            None => s.host.to_string(),
        },
        other => other.to_string(),
    }
}

impl Run {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<DialogRequest>,
        mut commands: mpsc::Receiver<AgentCommand>,
        mut outcomes: mpsc::Receiver<(Key, Result<Message, ClientError>)>,
    ) {
        let mut stopping: Option<(oneshot::Sender<()>, Instant)> = None;
        loop {
            if let Some((_, deadline)) = &stopping {
                if (self.watches.is_empty() && self.served.is_empty())
                    || Instant::now() >= *deadline
                {
                    if let Some((done, _)) = stopping.take() {
                        let _ = done.send(());
                    }
                    return;
                }
            }
            let wake = self.poll_timeout();
            let wake = match &stopping {
                Some((_, deadline)) => Some(wake.map_or(*deadline, |w| w.min(*deadline))),
                None => wake,
            };
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(request) = requests.recv() => self.handle_request(request).await,
                Some((key, outcome)) = outcomes.recv() => self.handle_outcome(key, outcome),
                command = commands.recv(), if stopping.is_none() => match command {
                    Some(AgentCommand::Watch { target, winfo }) => self.watch(&target, winfo),
                    Some(AgentCommand::SetState(state)) => {
                        if self.self_state.is_some() {
                            self.self_state = Some(state);
                            let now = Instant::now();
                            for s in &mut self.served {
                                s.sub.state_changed(now);
                            }
                        }
                    }
                    Some(AgentCommand::Stop(done)) => {
                        let now = Instant::now();
                        for w in &mut self.watches {
                            w.sub.unsubscribe(now);
                        }
                        for s in &mut self.served {
                            s.sub.terminate(now, Reason::Deactivated);
                        }
                        stopping = Some((done, now + STOP_GRACE));
                    }
                    None => return,
                },
                () = sleep => {
                    let now = Instant::now();
                    for w in &mut self.watches {
                        if w.sub.poll_timeout().is_some_and(|t| t <= now) {
                            w.sub.handle_timeout(now);
                        }
                    }
                    for s in &mut self.served {
                        if s.sub.poll_timeout().is_some_and(|t| t <= now) {
                            s.sub.handle_timeout(now);
                        }
                    }
                }
            }
            self.drain_actions();
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let watches = self.watches.iter().filter_map(|w| w.sub.poll_timeout());
        let served = self.served.iter().filter_map(|s| s.sub.poll_timeout());
        watches.chain(served).min()
    }

    fn emit(&self, event: PresenceEvent) {
        if self.events.try_send(event).is_err() {
            tracing::debug!("presence event dropped: nobody reads them fast enough");
        }
    }

    fn watch(&mut self, target: &str, winfo: bool) {
        let (Ok(target_uri), Ok(from), Some(local_target)) = (
            Uri::parse(target),
            Uri::parse(&self.ua.account().uri()),
            self.local_target.clone(),
        ) else {
            self.emit(PresenceEvent::WatchEnded {
                who: target.to_owned(),
                reason: "bad address".to_owned(),
            });
            return;
        };
        let shown = who(&target_uri);
        self.watch_uri(target_uri, from, local_target, shown, winfo);
    }

    fn watch_uri(&mut self, target: Uri, from: Uri, local_target: Uri, who: String, winfo: bool) {
        let call_id = format!("{}@{}", random_token(), self.ua.local_addr().ip());
        let event = if winfo { "presence.winfo" } else { "presence" };
        let sub = Subscriber::new(
            target,
            from,
            &random_token(),
            &call_id,
            local_target,
            event,
            3600,
        );
        self.next_id += 1;
        self.watches.push(Watch {
            id: self.next_id,
            who,
            call_id,
            sub,
            winfo: winfo.then(WatcherInfoView::new),
        });
    }

    fn spawn_send(&self, key: Key, message: Message) {
        let ua = self.ua.clone();
        let outcomes = self.outcomes_tx.clone();
        tokio::spawn(async move {
            let outcome = ua.send_request(message).await;
            let _ = outcomes.send((key, outcome)).await;
        });
    }

    fn drain_actions(&mut self) {
        let mut ended = Vec::new();
        let mut sends = Vec::new();
        for w in &mut self.watches {
            while let Some(action) = w.sub.poll_action() {
                match action {
                    SubscriberAction::SendSubscribe(mut m) => {
                        let accept = if w.winfo.is_some() {
                            WATCHERINFO_CONTENT_TYPE
                        } else {
                            PIDF_CONTENT_TYPE
                        };
                        m.headers.set(HeaderName::Accept, accept);
                        sends.push((Key::Watch(w.id), m));
                    }
                    SubscriberAction::StateChanged(_) => {}
                    SubscriberAction::Terminated { reason, .. } => {
                        ended.push(PresenceEvent::WatchEnded {
                            who: w.who.clone(),
                            reason: reason.map_or_else(|| "ended".to_owned(), |r| r.to_string()),
                        });
                    }
                }
            }
        }
        self.watches
            .retain(|w| w.sub.state() != parley_sip::subscription::SubscriberState::Terminated);
        let mut removed = Vec::new();
        for s in &mut self.served {
            while let Some(action) = s.sub.poll_action() {
                match action {
                    NotifierAction::SendNotify {
                        mut request,
                        with_body,
                        ..
                    } => {
                        if with_body {
                            if let Some(state) = &self.self_state {
                                let entity = self.ua.account().uri();
                                request.set_body(
                                    PIDF_CONTENT_TYPE,
                                    state.to_document(&entity).to_xml(),
                                );
                            }
                        }
                        sends.push((Key::Served(s.id), request));
                    }
                    NotifierAction::Remove => removed.push(s.id),
                }
            }
        }
        for id in removed {
            if let Some(pos) = self.served.iter().position(|s| s.id == id) {
                let s = self.served.remove(pos);
                ended.push(PresenceEvent::Unsubscribed { watcher: s.watcher });
            }
        }
        for (key, m) in sends {
            self.spawn_send(key, m);
        }
        for e in ended {
            self.emit(e);
        }
    }

    fn handle_outcome(&mut self, key: Key, outcome: Result<Message, ClientError>) {
        let now = Instant::now();
        match key {
            Key::Watch(id) => {
                let Some(w) = self.watches.iter_mut().find(|w| w.id == id) else {
                    return;
                };
                match outcome {
                    Ok(r) => w.sub.handle_response(now, &r),
                    Err(e) => {
                        let who = w.who.clone();
                        self.watches.retain(|w| w.id != id);
                        self.emit(PresenceEvent::WatchEnded {
                            who,
                            reason: e.to_string(),
                        });
                    }
                }
            }
            Key::Served(id) => {
                let Some(s) = self.served.iter_mut().find(|s| s.id == id) else {
                    return;
                };
                match outcome.ok().and_then(|r| r.status()) {
                    Some(code) => s.sub.handle_notify_response(now, code),
                    None => s.sub.handle_notify_timeout(now),
                }
            }
        }
    }

    async fn handle_request(&mut self, DialogRequest { tx, request }: DialogRequest) {
        let response = match request.method() {
            Some(Method::Notify) => self.handle_notify(&request),
            Some(Method::Subscribe) => self.handle_subscribe(&request),
            _ => request.response(405, "Method Not Allowed", None),
        };
        if self.ua.respond(tx, response).await.is_err() {
            tracing::debug!("response not sent: the user agent stopped");
        }
    }

    fn handle_notify(&mut self, request: &Message) -> Message {
        let now = Instant::now();
        let call_id = request.headers.get_str(&HeaderName::CallId).unwrap_or("");
        let Some(w) = self.watches.iter_mut().find(|w| w.call_id == call_id) else {
            return request.response(481, "Subscription Does Not Exist", None);
        };
        let code = w.sub.handle_notify(now, request);
        if code != 200 {
            return request.response(code, "Rejected", None);
        }
        let mut event = None;
        if !request.body.is_empty() {
            match &mut w.winfo {
                Some(view) => match WatcherInfo::parse(&request.body) {
                    Ok(doc) => {
                        view.apply(&doc);
                        let mut lines = Vec::new();
                        let mut pending = Vec::new();
                        for list in &doc.lists {
                            for watcher in &list.watchers {
                                if matches!(
                                    watcher.status,
                                    WatcherStatus::Pending | WatcherStatus::Waiting
                                ) {
                                    let who = watcher.uri.strip_prefix("sip:");
                                    pending.push(who.unwrap_or(&watcher.uri).to_owned());
                                }
                                lines.push(format!(
                                    "{} {} {} ({})",
                                    list.resource,
                                    watcher.uri,
                                    watcher.status.as_str(),
                                    watcher.event.as_str()
                                ));
                            }
                        }
                        event = Some(PresenceEvent::Watchers { lines, pending });
                    }
                    Err(e) => return request.response(400, &e.to_string(), None),
                },
                None => match Presence::parse(&request.body) {
                    Ok(doc) => {
                        event = Some(PresenceEvent::Presence {
                            who: w.who.clone(),
                            summary: PresenceSummary::of(&doc),
                        });
                    }
                    Err(e) => return request.response(400, &e.to_string(), None),
                },
            }
        }
        if let Some(e) = event {
            self.emit(e);
        }
        request.response(200, "OK", None)
    }

    fn handle_subscribe(&mut self, request: &Message) -> Message {
        let now = Instant::now();
        let has_to_tag = request.to_header().ok().is_some_and(|t| t.tag().is_some());
        if has_to_tag {
            let call_id = request.headers.get_str(&HeaderName::CallId).unwrap_or("");
            return match self
                .served
                .iter_mut()
                .find(|s| s.sub.dialog().call_id == call_id)
            {
                Some(s) => s
                    .sub
                    .handle_subscribe(now, now_unix(), request, &self.config),
                None => request.response(481, "Subscription Does Not Exist", None),
            };
        }
        let tag = random_token();
        let is_presence = request
            .event()
            .ok()
            .flatten()
            .is_some_and(|e| e.package.eq_ignore_ascii_case("presence"));
        let (true, Some(_), Some(local_target)) =
            (is_presence, &self.self_state, self.local_target.clone())
        else {
            return request.response(489, "Bad Event", Some(&tag));
        };
        let for_us = match request.uri() {
            Some(Uri::Sip(u)) => u
                .user
                .as_deref()
                .is_some_and(|user| parley_sip::uri::unescape(user) == self.ua.account().user()),
            _ => false,
        };
        if !for_us {
            return request.response(404, "Not Found", Some(&tag));
        }
        let watcher = request
            .from_header()
            .map_or_else(|_| "unknown".to_owned(), |f| who(&f.uri));
        match Subscription::accept(
            now,
            now_unix(),
            request,
            &self.config,
            &tag,
            local_target,
            false,
            Authorization::Allow,
        ) {
            Ok((sub, ok)) => {
                self.next_id += 1;
                self.served.push(Served {
                    id: self.next_id,
                    watcher: watcher.clone(),
                    sub,
                });
                self.emit(PresenceEvent::Subscribed { watcher });
                ok
            }
            Err(response) => *response,
        }
    }
}
