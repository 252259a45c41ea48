//! Staying registered: re-registering before the binding expires (RFC 3261 §10.2.1: a UA
//! refreshes its bindings before they lapse), retrying with a growing delay after failures.

use crate::agent::{Registration, UserAgent};
use crate::error::ClientError;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest wait between attempts after failures.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// When to refresh a binding granted for `granted` seconds: a minute before it ends for long
/// bindings, half-way for short ones, never sooner than a second.
pub fn refresh_delay(granted: u32) -> Duration {
    let secs = if granted > 120 {
        granted - 60
    } else {
        granted / 2
    };
    Duration::from_secs(u64::from(secs.max(1)))
}

/// The wait before attempt `failures + 1` after `failures` failures in a row: 2, 4, 8, … s,
/// at most [`MAX_RETRY`].
pub fn retry_delay(failures: u32) -> Duration {
    let secs = 1u64 << failures.clamp(1, 6);
    Duration::from_secs(secs).min(MAX_RETRY)
}

/// What the background refresher reports.
#[derive(Debug)]
pub enum RegistrationEvent {
    /// The binding was renewed.
    Refreshed(Registration),
    /// A refresh failed; another follows after `retry_in`.
    Failed {
        error: ClientError,
        retry_in: Duration,
    },
}

/// Keeps a registration alive in the background until [`RegistrationKeeper::stop`].
#[derive(Debug)]
pub struct RegistrationKeeper {
    task: JoinHandle<()>,
    events: mpsc::Receiver<RegistrationEvent>,
}

impl RegistrationKeeper {
    /// Starts refreshing `first` (a registration just made with `ua`) for `expires` seconds
    /// each time.
    pub fn start(ua: &UserAgent, first: &Registration, expires: u32) -> RegistrationKeeper {
        let (events_tx, events) = mpsc::channel(16);
        let ua = ua.clone();
        let mut delay = refresh_delay(first.expires);
        let task = tokio::spawn(async move {
            let mut failures = 0;
            loop {
                tokio::time::sleep(delay).await;
                let event = match ua.register(expires).await {
                    Ok(registration) => {
                        failures = 0;
                        delay = refresh_delay(registration.expires);
                        RegistrationEvent::Refreshed(registration)
                    }
                    Err(error) => {
                        failures += 1;
                        delay = retry_delay(failures);
                        RegistrationEvent::Failed {
                            error,
                            retry_in: delay,
                        }
                    }
                };
                // Reports are best effort: a full or unread queue must not stop refreshes.
                let _ = events_tx.try_send(event);
            }
        });
        RegistrationKeeper { task, events }
    }

    /// The next report (cancel-safe); `None` once stopped.
    pub async fn next_event(&mut self) -> Option<RegistrationEvent> {
        self.events.recv().await
    }

    /// Stops refreshing (the binding stays until it expires or is removed).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for RegistrationKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_come_before_expiry() {
        assert_eq!(refresh_delay(3600), Duration::from_secs(3540));
        assert_eq!(refresh_delay(121), Duration::from_secs(61));
        assert_eq!(refresh_delay(120), Duration::from_secs(60));
        assert_eq!(refresh_delay(10), Duration::from_secs(5));
        assert_eq!(refresh_delay(1), Duration::from_secs(1));
        assert_eq!(refresh_delay(0), Duration::from_secs(1));
    }

    #[test]
    fn retries_back_off_to_a_minute() {
        let secs: Vec<u64> = (0..9).map(|f| retry_delay(f).as_secs()).collect();
        assert_eq!(secs, [2, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
