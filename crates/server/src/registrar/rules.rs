//! The registrar's decisions (RFC 3261 §10.3 steps 6–8) as a pure function of the REGISTER,
//! the bindings already stored for its address of record, the time and the settings:
//! [`plan`] returns the changes to apply atomically, or the refusal to send.
//!
//! - `Contact: *` must be the only contact and come with `Expires: 0` (`400` otherwise); it
//!   removes every binding (§10.2.2).
//! - A contact's interval is its `expires` parameter, else the `Expires` header, else the
//!   configured default (§10.2.1.1). `0` removes the binding. A non-zero interval below the
//!   configured minimum is refused with `423 Interval Too Brief` and `Min-Expires` (§10.3
//!   step 7; the minimum is never above an hour). Longer ones are shortened to the maximum.
//! - An existing binding with the same Call-ID is only changed by a higher CSeq (§10.3 step
//!   7): a REGISTER that is out of order is refused with `500` and changes nothing. A
//!   different Call-ID always updates (the client restarted).
//! - At most `max_contacts` bindings per address of record remain (`403` otherwise).

use parley_sip::header::contact::{contact_expires, parse_q};
use parley_sip::header::{Contact, NameAddr};
use parley_sip::{HeaderName, Message, Uri};
use parley_store::{Address, Binding, BindingChange, Source, Timestamp};
use std::fmt::Write;

use crate::config::RegistrarSettings;

/// A REGISTER that is refused, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    /// `Min-Expires` of a `423`.
    pub min_expires: Option<u32>,
}

impl Refusal {
    fn new(code: u16, reason: &'static str) -> Refusal {
        Refusal {
            code,
            reason,
            min_expires: None,
        }
    }

    fn bad(reason: &'static str) -> Refusal {
        Refusal::new(400, reason)
    }
}

/// What a REGISTER asks for, read from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    pub contacts: RequestedContacts,
    /// The `Expires` header.
    pub expires: Option<u32>,
    pub call_id: String,
    pub cseq: u32,
    pub user_agent: Option<String>,
}

/// The Contact header fields of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedContacts {
    /// No Contact: a query for the current bindings (§10.2.3).
    None,
    /// `*` (and nothing else).
    Star,
    List(Vec<RequestedContact>),
}

/// One contact of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedContact {
    /// The URI in the canonical form bindings are compared in ([`canonical_contact`]).
    pub uri: String,
    pub q: Option<u16>,
    pub expires: Option<u32>,
    /// `+sip.instance` without its quotes (RFC 5626 §4.1).
    pub instance_id: Option<String>,
    /// `reg-id` (RFC 5626 §4.2).
    pub reg_id: Option<u32>,
}

impl RegisterRequest {
    /// Reads the fields the registrar needs; a malformed one is a `400` naming it.
    pub fn read(request: &Message) -> Result<RegisterRequest, Refusal> {
        RegisterRequest::read_refusing(request, |_| false)
    }

    /// [`RegisterRequest::read`], then a `403` when a contact is one `is_us` says names this
    /// server (a binding to ourselves would loop). The contacts' URIs are checked as parsed
    /// here rather than parsed again from their stored text.
    pub fn read_refusing(
        request: &Message,
        is_us: impl Fn(&Uri) -> bool,
    ) -> Result<RegisterRequest, Refusal> {
        let mut points_at_us = false;
        let contacts = request
            .contacts()
            .map_err(|_| Refusal::bad("Bad Request (malformed Contact)"))?;
        let star = contacts.contains(&Contact::Star);
        let contacts = if star {
            // §10.3 step 6: `*` is only valid alone.
            if contacts.len() != 1 {
                return Err(Refusal::bad("Bad Request (Contact * with other contacts)"));
            }
            RequestedContacts::Star
        } else {
            let mut list = Vec::new();
            for contact in &contacts {
                let Contact::Addresses(addresses) = contact else {
                    continue;
                };
                for a in addresses {
                    list.push(requested_contact(a)?);
                    points_at_us |= is_us(&a.uri);
                }
            }
            if list.is_empty() {
                RequestedContacts::None
            } else {
                RequestedContacts::List(list)
            }
        };
        let expires = request
            .expires()
            .map_err(|_| Refusal::bad("Bad Request (malformed Expires)"))?;
        let call_id = request
            .call_id()
            .map_err(|_| Refusal::bad("Bad Request (malformed Call-ID)"))?
            .to_owned();
        let cseq = request
            .cseq()
            .map_err(|_| Refusal::bad("Bad Request (malformed CSeq)"))?
            .seq;
        let user_agent = request
            .headers
            .get_str(&HeaderName::UserAgent)
            .map(str::to_owned);
        if points_at_us {
            return Err(Refusal::new(
                403,
                "Forbidden (contact points at this server)",
            ));
        }
        Ok(RegisterRequest {
            contacts,
            expires,
            call_id,
            cseq,
            user_agent,
        })
    }
}

fn requested_contact(a: &NameAddr<'_>) -> Result<RequestedContact, Refusal> {
    let uri =
        canonical_contact(&a.uri).ok_or(Refusal::bad("Bad Request (Contact is not a SIP URI)"))?;
    let q = match a.params.get("q") {
        None => None,
        Some(v) => Some(
            v.and_then(parse_q)
                .ok_or(Refusal::bad("Bad Request (malformed q)"))?,
        ),
    };
    let expires =
        contact_expires(a).map_err(|_| Refusal::bad("Bad Request (malformed expires)"))?;
    let reg_id = match a.params.get("reg-id") {
        None => None,
        Some(v) => Some(
            v.and_then(|v| v.parse::<u32>().ok())
                .ok_or(Refusal::bad("Bad Request (malformed reg-id)"))?,
        ),
    };
    Ok(RequestedContact {
        uri,
        q,
        expires,
        instance_id: a
            .params
            .get_unquoted("+sip.instance")
            .map(str::to_owned)
            .filter(|s| !s.is_empty() && !s.chars().any(char::is_control)),
        reg_id,
    })
}

/// The form in which contacts are stored and compared: the URI as printed, with the host
/// in lowercase (§19.1.4 compares hosts case-insensitively; the user part stays as sent).
/// `None` for URIs the proxy cannot route to (tel:, other schemes).
pub fn canonical_contact(uri: &Uri) -> Option<String> {
    let Uri::Sip(sip) = uri else {
        return None;
    };
    let mut text = String::with_capacity(64);
    match &sip.host {
        parley_sip::Host::Name(name) if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            let mut sip = sip.clone();
            sip.host = parley_sip::Host::Name(name.to_ascii_lowercase().into());
            let _ = write!(text, "{sip}");
        }
        // Infallible: writing to a String cannot fail.
        _ => {
            let _ = write!(text, "{sip}");
        }
    }
    Some(text)
}

/// Where the REGISTER came from and when.
#[derive(Debug, Clone)]
pub struct Origin {
    pub aor: Address,
    pub source: Source,
    pub now: Timestamp,
}

/// The changes a REGISTER makes to the bindings `existing` (those live now), or why it is
/// refused. An empty plan is a query.
pub fn plan(
    request: &RegisterRequest,
    existing: &[Binding],
    origin: &Origin,
    settings: &RegistrarSettings,
) -> Result<Vec<BindingChange>, Refusal> {
    let out_of_order = |b: &Binding| b.call_id == request.call_id && request.cseq <= b.cseq;
    match &request.contacts {
        RequestedContacts::None => Ok(Vec::new()),
        RequestedContacts::Star => {
            if request.expires != Some(0) {
                return Err(Refusal::bad("Bad Request (Contact * needs Expires: 0)"));
            }
            if existing.iter().any(out_of_order) {
                return Err(out_of_order_refusal());
            }
            Ok(vec![BindingChange::RemoveAll])
        }
        RequestedContacts::List(contacts) => {
            let mut changes = Vec::with_capacity(contacts.len());
            let mut remaining: Vec<&str> = existing.iter().map(|b| b.contact.as_str()).collect();
            for contact in contacts {
                let interval = contact
                    .expires
                    .or(request.expires)
                    .unwrap_or(settings.default_expires);
                let min = settings.min_expires.min(3600);
                if interval != 0 && interval < min {
                    return Err(Refusal {
                        code: 423,
                        reason: "Interval Too Brief",
                        min_expires: Some(min),
                    });
                }
                if existing
                    .iter()
                    .any(|b| b.contact == contact.uri && out_of_order(b))
                {
                    return Err(out_of_order_refusal());
                }
                remaining.retain(|c| *c != contact.uri);
                if interval == 0 {
                    changes.push(BindingChange::Remove {
                        contact: contact.uri.clone(),
                    });
                    continue;
                }
                let interval = interval.min(settings.max_expires.max(min));
                changes
                    .retain(|c| !matches!(c, BindingChange::Upsert(b) if b.contact == contact.uri));
                changes.push(BindingChange::Upsert(Binding {
                    aor: origin.aor.clone(),
                    contact: contact.uri.clone(),
                    q: contact.q,
                    expires_at: origin.now.saturating_add_secs(u64::from(interval)),
                    call_id: request.call_id.clone(),
                    cseq: request.cseq,
                    instance_id: contact.instance_id.clone(),
                    reg_id: contact.reg_id,
                    path: Vec::new(),
                    source: Some(origin.source.clone()),
                    user_agent: request.user_agent.clone(),
                }));
            }
            let added = changes
                .iter()
                .filter(|c| matches!(c, BindingChange::Upsert(_)))
                .count();
            if remaining.len() + added > settings.max_contacts {
                return Err(Refusal::new(403, "Forbidden (too many contacts)"));
            }
            Ok(changes)
        }
    }
}

fn out_of_order_refusal() -> Refusal {
    Refusal::new(500, "Server Internal Error (CSeq out of order)")
}

/// Seconds a binding has left at `now`, rounded up so that a fresh one shows its full
/// interval.
pub fn remaining_secs(binding: &Binding, now: Timestamp) -> u64 {
    binding.expires_at.millis_since(now).div_ceil(1000)
}

/// The Contact header value listing a binding in a `200` (§10.3 step 8): the URI with its
/// remaining `expires` and its `q`.
pub fn contact_value(binding: &Binding, now: Timestamp) -> String {
    // Pushed piece by piece: every 200 to REGISTER lists each binding this way.
    let mut v = String::with_capacity(binding.contact.len() + 24);
    v.push('<');
    v.push_str(&binding.contact);
    v.push_str(">;expires=");
    // Infallible: writing to a String cannot fail.
    let _ = write!(v, "{}", remaining_secs(binding, now));
    if let Some(q) = binding.q {
        v.push_str(";q=");
        v.push_str(&format_q(q));
    }
    if let Some(instance) = &binding.instance_id {
        v.push_str(";+sip.instance=\"");
        v.push_str(instance);
        v.push('"');
    }
    if let Some(reg_id) = binding.reg_id {
        let _ = write!(v, ";reg-id={reg_id}");
    }
    v
}

/// A q-value in thousandths as `0.xyz` or `1`, trailing zeros dropped (RFC 3261 §20.10).
pub fn format_q(q: u16) -> String {
    if q >= 1000 {
        return "1".to_owned();
    }
    let frac = format!("{q:03}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        "0".to_owned()
    } else {
        format!("0.{frac}")
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
