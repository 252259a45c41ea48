//! `Event` and `Subscription-State` (RFC 6665 §8.2.1, §8.2.3).

use super::params::Params;
use crate::error::ParseError;
use crate::scan::{is_token_char, trim};

/// `Event: package[.template] *(;param)`, with the `id` parameter for multiple subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub package: &'a str,
    pub params: Params<'a>,
}

impl<'a> Event<'a> {
    pub fn parse(s: &'a str) -> Result<Event<'a>, ParseError> {
        let s = trim(s);
        let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
        let package = &s[..end];
        if package.is_empty() || !package.bytes().all(is_token_char) {
            return Err(ParseError::header("Event", "package is not a token"));
        }
        let params = Params::parse(&s[end..])
            .map_err(|_| ParseError::header("Event", "malformed parameter"))?;
        Ok(Event { package, params })
    }

    pub fn id(&self) -> Option<&'a str> {
        self.params.get("id").flatten()
    }
}

/// The state of a subscription as carried in NOTIFY (RFC 6665 §4.1.3 / §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState<'a> {
    /// `active`, `pending`, `terminated`, or an extension value.
    pub state: &'a str,
    pub params: Params<'a>,
}

impl<'a> SubscriptionState<'a> {
    pub fn parse(s: &'a str) -> Result<SubscriptionState<'a>, ParseError> {
        let bad = |r| ParseError::header("Subscription-State", r);
        let s = trim(s);
        let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
        let state = &s[..end];
        if !crate::scan::is_token(state) {
            return Err(bad("state is not a token"));
        }
        let params = Params::parse(&s[end..]).map_err(|_| bad("malformed parameter"))?;
        for p in ["expires", "retry-after"] {
            if let Some(v) = params.get(p) {
                v.and_then(|v| crate::scan::parse_decimal(v, u64::from(u32::MAX)))
                    .ok_or(bad("expires/retry-after is not a number"))?;
            }
        }
        Ok(SubscriptionState { state, params })
    }

    pub fn expires(&self) -> Option<u32> {
        self.params
            .get("expires")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    pub fn reason(&self) -> Option<&'a str> {
        self.params.get("reason").flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_state() {
        let e = Event::parse("presence.winfo;id=7").unwrap();
        assert_eq!((e.package, e.id()), ("presence.winfo", Some("7")));
        let s = SubscriptionState::parse("terminated;reason=timeout").unwrap();
        assert_eq!((s.state, s.reason()), ("terminated", Some("timeout")));
        assert_eq!(
            SubscriptionState::parse("active;expires=600")
                .unwrap()
                .expires(),
            Some(600)
        );
        assert!(SubscriptionState::parse("active;expires=x").is_err());
    }
}
