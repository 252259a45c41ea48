//! Names of the metrics this crate records through the `metrics` facade; the server installs
//! the exporter and describes them.

/// Gauge: stream connections open now.
pub const CONNECTIONS_OPEN: &str = "parley_connections_open";
/// Counter: connections closed at once because a limit was reached; label `reason`.
pub const CONNECTIONS_REFUSED: &str = "parley_connections_refused_total";
/// Counter: outgoing messages that could not be sent; label `reason`.
pub const TRANSMIT_DROPPED: &str = "parley_transmit_dropped_total";
/// Counter: stream connections closed because of a framing error (answered, then closed).
pub const FRAMING_ERRORS: &str = "parley_framing_errors_total";
