//! Prometheus metrics: the names the server records, and the process-wide exporter.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use parley_net::metric_names as net;
use parley_sip::{Method, ParseError};
use std::sync::OnceLock;

/// Gauge: 1 while the server runs.
pub const UP: &str = "parley_up";
/// Counter: valid requests received; label `method` (other methods count as `other`).
pub const SIP_REQUESTS: &str = "parley_sip_requests_total";
/// Counter: responses sent; label `class` (`1xx` … `6xx`).
pub const SIP_RESPONSES_SENT: &str = "parley_sip_responses_sent_total";
/// Counter: messages that failed to parse or validate; label `reason` (the error kind).
pub const SIP_REJECTED: &str = "parley_sip_rejected_total";
/// Counter: responses matching no transaction, dropped (RFC 3261 §17.1.3).
pub const SIP_STRAY_RESPONSES: &str = "parley_sip_stray_responses_total";
/// Counter: requests refused with `503` because the transaction table was full.
pub const SIP_OVERLOADED: &str = "parley_sip_overloaded_total";
/// Counter: REGISTERs answered by the registrar; label `class` of the answer.
pub const REGISTRATIONS: &str = "parley_registrations_total";
/// Counter: request copies sent by the proxy (one per branch).
pub const PROXY_FORWARDED: &str = "parley_proxy_forwarded_total";
/// Counter: requests refused with `482 Loop Detected`.
pub const PROXY_LOOPS: &str = "parley_proxy_loops_total";
/// Counter: MESSAGEs stored for offline delivery.
pub const OFFLINE_STORED: &str = "parley_offline_messages_stored_total";
/// Counter: stored MESSAGEs delivered (answered 2xx) and deleted.
pub const OFFLINE_DELIVERED: &str = "parley_offline_messages_delivered_total";
/// Counter: deliveries of stored MESSAGEs that failed and will be retried.
pub const OFFLINE_FAILED_ATTEMPTS: &str = "parley_offline_delivery_failures_total";

/// The process's Prometheus handle. The first call installs the global recorder; servers
/// started later in the same process (tests) share it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows nothing");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_gauge!(UP, "1 while the server runs");
    describe_counter!(SIP_REQUESTS, "valid SIP requests received, by method");
    describe_counter!(SIP_RESPONSES_SENT, "SIP responses sent, by status class");
    describe_counter!(SIP_REJECTED, "SIP messages refused as malformed, by reason");
    describe_counter!(SIP_STRAY_RESPONSES, "responses matching no transaction");
    describe_counter!(
        SIP_OVERLOADED,
        "requests refused with 503 because too many transactions were alive"
    );
    describe_counter!(
        REGISTRATIONS,
        "REGISTERs answered by the registrar, by class"
    );
    describe_counter!(PROXY_FORWARDED, "request copies forwarded by the proxy");
    describe_counter!(PROXY_LOOPS, "requests refused as looping (482)");
    describe_counter!(OFFLINE_STORED, "MESSAGEs stored for offline delivery");
    describe_counter!(OFFLINE_DELIVERED, "stored MESSAGEs delivered and deleted");
    describe_counter!(
        OFFLINE_FAILED_ATTEMPTS,
        "failed deliveries of stored MESSAGEs (retried later)"
    );
    describe_gauge!(net::CONNECTIONS_OPEN, "TCP and TLS connections open");
    describe_counter!(
        net::CONNECTIONS_REFUSED,
        "connections closed at once because a limit was reached, by reason"
    );
    describe_counter!(
        net::TRANSMIT_DROPPED,
        "outgoing SIP messages that could not be sent, by reason"
    );
    describe_counter!(
        net::FRAMING_ERRORS,
        "stream connections closed because their bytes could not be framed"
    );
    metrics::gauge!(UP).set(1.0);
    metrics::gauge!(net::CONNECTIONS_OPEN).set(0.0);
    metrics::counter!(SIP_STRAY_RESPONSES).increment(0);
    metrics::counter!(SIP_OVERLOADED).increment(0);
}

/// The `method` label: the known methods by name, extensions together, so that a peer cannot
/// create series at will.
pub fn method_label(method: &Method) -> &'static str {
    method.standard_name().unwrap_or("other")
}

/// The `class` label of a status code.
pub fn class_label(code: u16) -> &'static str {
    match code / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "6xx",
    }
}

/// The `reason` label of a parse error: its kind in snake case (`too_large`,
/// `duplicate`, …), without the details, so the set of series stays small.
pub fn reason_label(error: &ParseError) -> String {
    let debug = format!("{error:?}");
    let kind = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut label = String::with_capacity(kind.len() + 4);
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            label.push('_');
        }
        label.push(c.to_ascii_lowercase());
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_names() {
        assert_eq!(
            reason_label(&ParseError::TooLarge { limit: 1 }),
            "too_large"
        );
        assert_eq!(reason_label(&ParseError::Duplicate("To")), "duplicate");
        assert_eq!(reason_label(&ParseError::CSeqMismatch), "c_seq_mismatch");
        assert_eq!(class_label(183), "1xx");
        assert_eq!(method_label(&Method::Extension("X".into())), "other");
    }
}
