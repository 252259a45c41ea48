//! Where a request the server sends inside a dialog goes (a NOTIFY of a subscription, or
//! any request it originates to a dialog peer): RFC 3261 §12.2.1.1 takes the next hop from
//! the route set, else from the remote target; RFC 3261 §18.2.2 and RFC 5626 §5.3 / §6 have
//! an open connection to the peer reused rather than a new one opened.
//!
//! In order: the connection the dialog was made on while it is open (a peer whose Contact
//! has `;ob` wants in-dialog requests over it, RFC 5626 §4.3); the connection of the
//! registration the remote target names ([`crate::registrar::flows`]: the same contact URI,
//! or another of the same `+sip.instance`); then the remote target itself, located by
//! RFC 3263.
//!
//! A remote target with `;ob` over TCP or TLS names the port of the peer's own outgoing
//! connection, where nothing listens (pjsua2 does this). With no open connection to it (the
//! server restarted, or the peer's connection broke), a new connection there would be
//! refused and the request would only time out; the peer is expected to register again over
//! a new connection (RFC 5626 §4.5). So the request waits for that, up to 64·T1 (Timer F,
//! as long as its transaction would have had to be answered), and then goes the usual way.
//!
//! For a subscription this is the difference between keeping and losing it: RFC 6665
//! §4.2.2 has the notifier remove a subscription whose NOTIFY timed out (Timer F), and
//! that is what `send_notify`'s `408` does. A NOTIFY waiting for its watcher to come back
//! has not failed yet: a watcher that registers again within the wait gets it (and then
//! the state it missed, the next NOTIFY following the answer), in the subscription it had.
//! One that stays away is removed as before, after the wait and the transaction's own
//! timeout; when it returns, its refresh gets `481` and it subscribes anew. The NOTIFY is
//! not retried after a failure instead: the failure of a request sent to the dead port is
//! only known at Timer F, and a second NOTIFY with the same CSeq could reach a watcher
//! that did get the first.

use crate::context::ServerContext;
use crate::proxy::next_hop::Hop;
use parley_sip::{ConnectionId, Destination, HeaderName, Message, Transport, Uri};
use std::time::Duration;

/// How long a request to an outbound peer waits for it to register a flow: 64·T1 with
/// T1 = 500 ms (RFC 3261 §17.1.2.2, Timer F).
pub const FLOW_WAIT: Duration = Duration::from_secs(32);

/// The places to send `request` to, in the order to try them. `dialog_connection` is the
/// connection the dialog was made on, when it was made in this process.
pub async fn hops(
    ctx: &ServerContext,
    request: &Message,
    dialog_connection: Option<(ConnectionId, Transport)>,
) -> Vec<Hop> {
    let mut hops: Vec<Hop> = Vec::new();
    if let Some((conn, transport)) = dialog_connection.filter(|(c, _)| ctx.flows.is_live(*c)) {
        hops.push((Destination::Connection(conn), transport));
    }
    let route = request
        .name_addrs(&HeaderName::Route)
        .ok()
        .and_then(|r| r.first().map(|n| n.uri.clone()));
    // With a route set the next hop is a proxy, not the peer's registration.
    let target = match route {
        Some(_) => None,
        None => request.uri().cloned(),
    };
    if let Some(target) = &target {
        let now = || ctx.clock.now();
        let flow = match ctx.flows.flow_for(target, now()) {
            Some(flow) => Some(flow),
            None if hops.is_empty() && outbound_over_stream(target) => {
                tracing::debug!(target = %target, "waiting for the peer to register a flow");
                ctx.flows.wait_for(target, FLOW_WAIT, now).await
            }
            None => None,
        };
        if let Some((conn, transport)) = flow {
            if !hops.iter().any(|h| h.0 == Destination::Connection(conn)) {
                hops.push((Destination::Connection(conn), transport));
            }
        }
    }
    if let Some(next) = route.or(target) {
        hops.extend(ctx.resolver.resolve(&next).await);
    }
    hops
}

/// Whether `uri` is an RFC 5626 outbound contact (`;ob`) reached over a stream transport.
fn outbound_over_stream(uri: &Uri) -> bool {
    let Some(sip) = uri.as_sip() else {
        return false;
    };
    let stream = sip.secure || matches!(sip.transport().as_deref(), Some("tcp" | "tls"));
    stream && sip.param("ob").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_contacts_over_streams() {
        let ob = |s: &str| outbound_over_stream(&Uri::parse(s).unwrap());
        assert!(ob("sip:jack@127.0.0.1:41559;transport=TCP;ob"));
        assert!(ob("sips:jack@127.0.0.1:41559;ob"));
        assert!(!ob("sip:jack@127.0.0.1:41559;ob"));
        assert!(!ob("sip:jack@127.0.0.1:41559;transport=tcp"));
    }
}
