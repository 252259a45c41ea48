//! The transaction user: takes the endpoint's events, asks the [`Router`] what to answer,
//! answers through the endpoint, and counts what happened.

use crate::metrics::{
    class_label, method_label, reason_label, SIP_OVERLOADED, SIP_REJECTED, SIP_REQUESTS,
    SIP_RESPONSES_SENT, SIP_STRAY_RESPONSES,
};
use crate::router::{Decision, Router};
use parley_net::{EndpointCommands, TransactionUser};
use parley_sip::Event;

/// The SIP service behind the endpoint driver.
#[derive(Debug)]
pub struct SipService {
    router: Router,
}

impl SipService {
    pub fn new(router: Router) -> SipService {
        SipService { router }
    }
}

impl TransactionUser for SipService {
    fn handle_event(&mut self, event: Event, endpoint: &mut EndpointCommands<'_>) {
        match event {
            Event::Request { tx, request, from } => {
                if let Some(method) = request.method() {
                    metrics::counter!(SIP_REQUESTS, "method" => method_label(method)).increment(1);
                }
                // ACK to a 2xx has no transaction, and nothing answers it (RFC 3261 §17).
                let Some(tx) = tx else {
                    return;
                };
                let tag = endpoint.new_tag();
                let cancels = endpoint.cancel_target(&request).is_some();
                let Decision::Respond(response) = self.router.decide(&request, &tag, cancels)
                else {
                    return;
                };
                let class = response.status().map_or("6xx", class_label);
                match endpoint.respond(tx, response) {
                    Ok(()) => metrics::counter!(SIP_RESPONSES_SENT, "class" => class).increment(1),
                    Err(e) => {
                        tracing::warn!(remote = %from.remote, error = %e, "response not sent")
                    }
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
            Event::StrayResponse { from } => {
                tracing::debug!(remote = %from.remote, "stray response dropped");
                metrics::counter!(SIP_STRAY_RESPONSES).increment(1);
            }
            // The server sends no requests yet, so no client transaction can answer or time
            // out; a server transaction timing out (Timer H) needs no action.
            Event::Response { tx, .. } | Event::Timeout { tx } => {
                tracing::debug!(tx = tx.0, "transaction event ignored");
            }
        }
    }
}
