//! The transaction user: takes the endpoint's events on the driver task, asks the [`Router`]
//! what to do, and either answers at once or hands the request to a handler task
//! (`crate::inbound`); responses, timeouts, CANCELs and connection events go to the proxy
//! task in the order they happened; a stray `2xx` to an INVITE we forwarded goes upstream at
//! once ([`crate::proxy::stray`]). Nothing here blocks or waits: the driver must keep moving.

use crate::context::ServerContext;
use crate::inbound::{self, Handler};
use crate::metrics::{
    class_label, method_label, reason_label, SIP_OVERLOADED, SIP_REJECTED, SIP_REQUESTS,
    SIP_RESPONSES_SENT, SIP_STRAY_RESPONSES,
};
use crate::proxy::ProxyInput;
use crate::router::{Decision, Router};
use parley_net::{EndpointCommands, TransactionUser};
use parley_sip::{ConnectionId, Event, Message, Method};
use std::collections::HashSet;
use std::sync::Arc;

/// The SIP service behind the endpoint driver.
#[derive(Debug)]
pub struct SipService {
    router: Router,
    ctx: Arc<ServerContext>,
    /// Connections the proxy has been told about (and not yet of their end).
    connections: HashSet<ConnectionId>,
}

impl SipService {
    pub fn new(router: Router, ctx: Arc<ServerContext>) -> SipService {
        SipService {
            router,
            ctx,
            connections: HashSet::new(),
        }
    }

    fn notify_proxy(&self, input: ProxyInput) {
        if !self.ctx.proxy.notify(input) {
            tracing::warn!("proxy queue full: event dropped");
        }
    }

    /// Answers at once: when the proxy cannot take more, or the handler is not there.
    fn answer(
        endpoint: &mut EndpointCommands<'_>,
        tx: parley_sip::TransactionId,
        response: Message,
    ) {
        let class = response.status().map_or("6xx", class_label);
        match endpoint.respond(tx, response) {
            Ok(()) => metrics::counter!(SIP_RESPONSES_SENT, "class" => class).increment(1),
            Err(e) => tracing::debug!(tx = tx.0, error = %e, "response not sent"),
        }
    }
}

impl TransactionUser for SipService {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>) {
        match event {
            Event::Request { tx, request, from } => {
                if let Some(method) = request.method() {
                    metrics::counter!(SIP_REQUESTS, "method" => method_label(method)).increment(1);
                }
                if let Some(id) = from.connection {
                    // Before the request's handler can use the connection for a binding.
                    if self.connections.insert(id) {
                        self.ctx.flows.connection_seen(id, from.remote);
                        self.notify_proxy(ProxyInput::ConnectionSeen {
                            id,
                            remote: from.remote,
                        });
                    }
                }
                let tag = endpoint.new_tag();
                let invite = endpoint.cancel_target(&request);
                let decision = self.router.decide(&request, &tag, invite.is_some());
                if let Some(handler) = Handler::of(&decision) {
                    tokio::spawn(inbound::handle(
                        self.ctx.clone(),
                        handler,
                        tx,
                        request,
                        from,
                    ));
                    return;
                }
                let Decision::Respond(response) = decision else {
                    return;
                };
                // ACK to a 2xx has no transaction, and nothing answers it (RFC 3261 §17).
                let Some(tx) = tx else {
                    return;
                };
                Self::answer(endpoint, tx, response);
                if let (Some(invite), Some(&Method::Cancel)) = (invite, request.method()) {
                    self.notify_proxy(ProxyInput::Cancel { invite });
                }
            }
            Event::Rejected {
                from,
                error,
                answered,
            } => {
                tracing::debug!(remote = %from.remote, transport = %from.transport, %error, answered, "message rejected");
                metrics::counter!(SIP_REJECTED, "reason" => reason_label(&error)).increment(1);
                if answered {
                    let class = class_label(error.status_code());
                    metrics::counter!(SIP_RESPONSES_SENT, "class" => class).increment(1);
                }
            }
            Event::Overloaded { from } => {
                tracing::warn!(remote = %from.remote, "too many transactions: request refused with 503");
                metrics::counter!(SIP_OVERLOADED).increment(1);
                metrics::counter!(SIP_RESPONSES_SENT, "class" => "5xx").increment(1);
            }
            Event::StrayResponse { from, response } => {
                // A 2xx to an INVITE we forwarded, retransmitted by the callee: upstream
                // statelessly (RFC 3261 §16.7 step 5); anything else is dropped.
                let forwarded =
                    crate::proxy::stray::to_forward(response, &self.ctx.listeners).map(|up| {
                        let class = up.status().map_or("6xx", class_label);
                        endpoint.forward_response(up).map(|()| class)
                    });
                match forwarded {
                    Some(Ok(class)) => {
                        metrics::counter!(SIP_RESPONSES_SENT, "class" => class).increment(1);
                    }
                    Some(Err(e)) => {
                        tracing::debug!(remote = %from.remote, error = %e, "stray 2xx not forwarded");
                        metrics::counter!(SIP_STRAY_RESPONSES).increment(1);
                    }
                    None => {
                        tracing::debug!(remote = %from.remote, "stray response dropped");
                        metrics::counter!(SIP_STRAY_RESPONSES).increment(1);
                    }
                }
            }
            // The INVITE's own final response or timeout has been handed to the proxy.
            Event::CancelDropped { .. } => {}
            Event::Response { tx, response, .. } => {
                let status = response.status().unwrap_or(0);
                if status >= 200 && self.ctx.notify_waiters.complete(tx, status) {
                    return;
                }
                let is_notify = response
                    .cseq()
                    .is_ok_and(|c| c.method == parley_sip::Method::Notify);
                if status >= 200 && is_notify {
                    self.ctx.notify_waiters.keep_early(tx, status);
                }
                self.notify_proxy(ProxyInput::Response { tx, response });
            }
            // Client transactions: the proxy's branch timed out. Server transactions (Timer
            // H, an unacknowledged final response) need nothing; the proxy ignores them.
            Event::Timeout { tx } => {
                if !self.ctx.notify_waiters.complete(tx, 408) {
                    self.notify_proxy(ProxyInput::Timeout { tx });
                }
            }
        }
    }

    fn connection_closed(&mut self, id: ConnectionId) {
        if self.connections.remove(&id) {
            self.ctx.flows.connection_closed(id);
            self.notify_proxy(ProxyInput::ConnectionClosed { id });
        }
    }
}
