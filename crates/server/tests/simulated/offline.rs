//! Offline store-and-forward with a retry (scenario to come).
