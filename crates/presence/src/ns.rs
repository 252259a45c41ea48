//! XML namespaces of the documents this crate reads and writes, and the fixed prefixes used when
//! printing. Input may use any prefix; output always uses these (RFC 3863 §4.1: only the
//! namespace, never the prefix, carries meaning).

/// PIDF, RFC 3863 §4.4.
pub const PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// Presence data model: person, device, deviceID (RFC 4479 §6).
pub const DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// Rich presence extensions (RFC 4480 §5).
pub const RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// Contact information (RFC 4482 §5).
pub const CIPID: &str = "urn:ietf:params:xml:ns:pidf:cipid";
/// Timed presence (RFC 4481 §5).
pub const TIMED_STATUS: &str = "urn:ietf:params:xml:ns:pidf:timed-status";
/// Service capabilities (RFC 5196); kept as extension data, prefix only.
pub const CAPS: &str = "urn:ietf:params:xml:ns:pidf:caps";
/// Location types (RFC 4589), used inside `<rpid:place-type>`; kept as extension data.
pub const LOCATION_TYPE: &str = "urn:ietf:params:xml:ns:location-type";
/// Watcher information (RFC 3858 §6).
pub const WATCHERINFO: &str = "urn:ietf:params:xml:ns:watcherinfo";
/// The `xml:` namespace (`xml:lang`); bound by XML itself, never declared.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Prefixes used when printing, namespace → prefix. Namespaces not listed get `ns1`, `ns2`, ….
pub(crate) const CANONICAL_PREFIXES: &[(&str, &str)] = &[
    (PIDF, "pidf"),
    (DATA_MODEL, "dm"),
    (RPID, "rpid"),
    (CIPID, "c"),
    (TIMED_STATUS, "ts"),
    (CAPS, "caps"),
    (LOCATION_TYPE, "lt"),
    (WATCHERINFO, "wi"),
];
