//! Broadcast-then-drain shutdown (the mini-redis pattern): one `watch` flag tells every task
//! to stop; every task holds a [`TaskToken`], and the driver waits until all are dropped.

use tokio::sync::{mpsc, watch};

/// Tells a task when to stop.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    pub(crate) fn new(rx: watch::Receiver<bool>) -> Shutdown {
        Shutdown { rx }
    }

    /// Completes once shutdown has begun (or the driver has gone). Cancel-safe.
    pub(crate) async fn wait(&mut self) {
        let _ = self.rx.wait_for(|&stopping| stopping).await;
    }
}

/// Held by every spawned task; the driver's receiver sees `None` once all are gone.
#[derive(Debug, Clone)]
pub(crate) struct TaskToken {
    _done: mpsc::Sender<()>,
}

impl TaskToken {
    pub(crate) fn new(done: mpsc::Sender<()>) -> TaskToken {
        TaskToken { _done: done }
    }
}
