//! Forking on a lossy network (scenario to come).
