//! A notifier subscription as plain values for the store (issue 4 durability): the dialog,
//! the Event value, the state and the expiry as Unix seconds, so that it survives a restart.

use super::notifier::Subscription;
use super::state::State;
use crate::dialog::{Dialog, DialogRecord, RecordError};
use std::time::{Duration, Instant};

/// The persisted form of a [`Subscription`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub dialog: DialogRecord,
    /// The Event header value (package and parameters).
    pub event: String,
    /// `pending` or `active`.
    pub state: String,
    /// When the subscription expires, in Unix seconds.
    pub expires_unix: u64,
}

/// Why a stored subscription was not restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// It expired while the server was down: delete it without a NOTIFY (the watcher has
    /// stopped expecting one; anchors §3 item 5 warns against terminating NOTIFYs on load).
    #[error("subscription expired")]
    Expired,
    #[error("stored state {0:?} is not pending or active")]
    State(String),
    #[error(transparent)]
    Dialog(#[from] RecordError),
}

impl Subscription {
    /// The state to store. A terminated subscription should be deleted instead; its record
    /// says `terminated` and does not restore.
    pub fn to_record(&self) -> SubscriptionRecord {
        SubscriptionRecord {
            dialog: self.dialog.to_record(),
            event: self.event.clone(),
            state: self.state.as_str().to_owned(),
            expires_unix: self.expires_unix,
        }
    }

    /// Restores a stored subscription at `now` / `now_unix`. No NOTIFY is sent until the
    /// resource changes or the watcher refreshes.
    pub fn from_record(
        now: Instant,
        now_unix: u64,
        record: &SubscriptionRecord,
        min_notify_interval: Duration,
    ) -> Result<Subscription, RestoreError> {
        let state = match State::parse(&record.state) {
            Some(s @ (State::Pending | State::Active)) => s,
            _ => return Err(RestoreError::State(record.state.clone())),
        };
        let left = record
            .expires_unix
            .checked_sub(now_unix)
            .filter(|&s| s > 0)
            .ok_or(RestoreError::Expired)?;
        let dialog = Dialog::from_record(&record.dialog)?;
        Ok(Subscription::restored(
            dialog,
            record.event.clone(),
            state,
            now + Duration::from_secs(left),
            record.expires_unix,
            min_notify_interval,
        ))
    }
}
