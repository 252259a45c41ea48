//! The single writer thread with group commit.
//!
//! Callers send write jobs over a channel and either block on their reply ([`Writer::write`])
//! or are called back from the commit ([`Writer::submit`]). The thread takes every job queued
//! at that moment (up to [`MAX_BATCH`]), runs them inside one `IMMEDIATE` transaction, commits
//! once, and only then replies: a caller hears `Ok` only after its change is on disk
//! (DESIGN.md "Acknowledge only what is durable"), and concurrent writers share one commit
//! (one fsync) instead of queueing for one each.
//!
//! A job that fails must leave nothing behind, so as not to disturb the others in its batch.
//! Most jobs write with one statement, which SQLite undoes by itself when it fails; a job that
//! writes more than once wraps those writes in [`atomic`] (a savepoint). A savepoint for
//! every job cost two statements per job for nothing.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::backend;
use crate::error::StoreError;

/// Most jobs committed together.
pub const MAX_BATCH: usize = 256;

/// One queued write: run inside the batch transaction, then told how the commit went.
trait Job: Send {
    fn run(&mut self, tx: &mut Transaction<'_>);
    fn finish(self: Box<Self>, commit: Result<(), &SharedError>);
}

/// Told the outcome of a job once its batch has committed (or failed).
type Reply<R> = Box<dyn FnOnce(Result<R, StoreError>) + Send>;

struct PendingJob<R, F> {
    op: Option<F>,
    outcome: Option<Result<R, StoreError>>,
    reply: Reply<R>,
}

impl<R, F> Job for PendingJob<R, F>
where
    R: Send,
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send,
{
    fn run(&mut self, tx: &mut Transaction<'_>) {
        let Some(op) = self.op.take() else {
            return;
        };
        // An error that made SQLite roll back the whole transaction leaves the connection in
        // autocommit: a job run now would commit on its own. The batch's commit fails, and
        // with it every job.
        if tx.is_autocommit() {
            return;
        }
        self.outcome = Some(op(tx));
    }

    fn finish(self: Box<Self>, commit: Result<(), &SharedError>) {
        let result = match (self.outcome, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(r)), Ok(())) => Ok(r),
            (Some(Ok(_)) | None, Err(e)) => Err(StoreError::Backend(Box::new(e.clone()))),
            (None, Ok(())) => Err(StoreError::Closed),
        };
        (self.reply)(result);
    }
}

/// Runs `writes` in a savepoint: all of them or, when it fails, none. For a job that writes
/// more than once (one statement is atomic by itself).
pub(crate) fn atomic<R>(
    conn: &Connection,
    writes: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    // From the statement cache: rusqlite's `Savepoint` parses its SQL anew every time.
    let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
    run("SAVEPOINT job").map_err(backend)?;
    match writes(conn) {
        Ok(r) => run("RELEASE job").map(|_| r).map_err(backend),
        Err(e) => {
            // Undoes the writes; if even that fails, the batch's commit fails.
            let _ = run("ROLLBACK TO job").and_then(|_| run("RELEASE job"));
            Err(e)
        }
    }
}

/// A commit error shared by every job of the batch.
#[derive(Debug, Clone)]
struct SharedError(Arc<rusqlite::Error>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch commit failed: {}", self.0)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The handle to the writer thread. Dropping it lets the thread finish the queued jobs and
/// waits for it, so the database is closed when the handle is gone.
pub(crate) struct Writer {
    jobs: Option<Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer(..)")
    }
}

impl Writer {
    pub(crate) fn spawn(conn: Connection) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("parley-store-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(backend)?;
        Ok(Writer {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `op` on the writer thread in the next batch; returns after the batch committed.
    pub(crate) fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::channel();
        self.submit(
            op,
            Box::new(move |result| {
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(result);
            }),
        );
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Queues `op` for the next batch without waiting; `done` gets its outcome on the writer
    /// thread once the batch has committed, or at once if the writer has stopped.
    pub(crate) fn submit<R, F>(&self, op: F, done: Reply<R>)
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let Some(jobs) = self.jobs.as_ref() else {
            return done(Err(StoreError::Closed));
        };
        let job = Box::new(PendingJob {
            op: Some(op),
            outcome: None,
            reply: done,
        });
        if let Err(mpsc::SendError(job)) = jobs.send(job) {
            job.finish(Ok(()));
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            // A panic on the writer thread has already failed its callers with `Closed`.
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, jobs: Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = run_batch(&mut conn, &mut batch).map_err(|e| SharedError(Arc::new(e)));
        for job in batch {
            job.finish(commit.as_ref().map(|_| ()));
        }
    }
}

fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), rusqlite::Error> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for job in batch.iter_mut() {
        job.run(&mut tx);
    }
    tx.commit()
}
