//! [`FileLocks`]: what the connections of this process to one database file share.
//!
//! - **The write gate**, a fair (first come, first served) asynchronous semaphore with one
//!   permit. A connection takes it before it takes SQLite's write lock (BEGIN IMMEDIATE or
//!   EXCLUSIVE, or the first statement that writes) and gives it back when its write
//!   transaction ends, so the writers of one process queue here, in order, instead of
//!   meeting SQLITE_BUSY and SQLite's busy handler, whose pauses (1, 2, 5 … 100 ms) are far
//!   longer than a short transaction holds the lock. Only other processes' locks are still
//!   waited out with busy_timeout.
//! - **The release signal**: word that a connection may have released a lock (a transaction
//!   ended), for inline connections waiting out SQLITE_BUSY — which, with the gate, happens
//!   only for another process's lock or, outside WAL, a reader's. It also counts the
//!   waiting connections, so that a connection about to start new work lets them run first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use txkit_core::dialects::sqlite::sqlite_error;
use txkit_core::{Error, ErrorKind, Result};

use crate::checkpointer::Checkpointer;
use crate::codes::SQLITE_BUSY;

/// One entry per database file, for as long as a connection holds it.
static FILES: LazyLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = LazyLock::new(Mutex::default);

/// What the connections to one file share.
#[derive(Debug)]
struct Shared {
    /// The write gate: one permit, handed out in the order it was asked for.
    gate: Arc<Semaphore>,
    notify: Notify,
    /// Connections now waiting out SQLITE_BUSY.
    waiting: AtomicUsize,
    /// Connections now waiting in line at the write gate.
    queued: AtomicUsize,
    /// Calls of a busy handler by this process's connections to the file, ever.
    busy_waits: AtomicU64,
    /// The file's checkpoint thread.
    checkpoint: Mutex<Checkpoint>,
    /// The file, for error messages.
    path: PathBuf,
}

/// The shared locks of one database file.
#[derive(Debug, Clone)]
pub(crate) struct FileLocks(Arc<Shared>);

/// A connection's turn at a file's write gate; dropping it lets the next one in.
pub(crate) type GatePermit = OwnedSemaphorePermit;

/// A file's checkpoint thread: not asked for yet, running, or not to be had (it could not
/// start, or the file's last connection ended it).
#[derive(Debug)]
enum Checkpoint {
    NotAsked,
    Running(Checkpointer),
    Off,
}

/// A connection counted in line at the gate for as long as this lives.
struct InLine<'a>(&'a FileLocks);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection counted as waiting for as long as this lives.
#[derive(Debug)]
pub(crate) struct Waiting(FileLocks);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FileLocks {
    /// The locks of the file at `path` (the same for every spelling of the path that
    /// resolves to the same file, once it exists).
    pub(crate) fn for_file(path: &Path) -> Self {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut files = FILES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = files.get(&key).and_then(Weak::upgrade) {
            return Self(shared);
        }
        files.retain(|_, weak| weak.strong_count() > 0);
        let shared = Arc::new(Shared {
            gate: Arc::new(Semaphore::new(1)),
            notify: Notify::new(),
            waiting: AtomicUsize::new(0),
            busy_waits: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            checkpoint: Mutex::new(Checkpoint::NotAsked),
            path: key.clone(),
        });
        files.insert(key, Arc::downgrade(&shared));
        Self(shared)
    }

    /// The write gate's permit if nobody holds it and nobody is queued for it.
    pub(crate) fn try_gate(&self) -> Option<GatePermit> {
        Arc::clone(&self.0.gate).try_acquire_owned().ok()
    }

    /// Waits, in line, for the write gate, up to `timeout` (the connection's busy_timeout):
    /// after that a LockTimeout error that says which file's writer held it.
    pub(crate) async fn gate(&self, timeout: Duration) -> Result<GatePermit> {
        let started = Instant::now();
        let wait = Arc::clone(&self.0.gate).acquire_owned();
        self.0.queued.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(self);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; say so rather than panic if it ever were.
            Ok(Err(_closed)) => Err(Error::new(
                ErrorKind::ConnectionLost,
                "the SQLite write gate of this file was closed; open a new connection",
            )),
            // SQLite's own BUSY, as its busy handler would have given up with.
            Err(_elapsed) => Err(sqlite_error(
                SQLITE_BUSY,
                Some(&format!(
                    "database is locked: waited {} ms (busy_timeout) for another connection \
                     of this process to finish its write transaction on {}; keep write \
                     transactions short, or raise busy_timeout",
                    started.elapsed().as_millis(),
                    self.0.path.display()
                )),
            )),
        }
    }

    /// The [`Notify`] to wait on (register with `notified().enable()` before trying the
    /// lock, so that a release in between is not missed).
    pub(crate) fn notify(&self) -> &Notify {
        &self.0.notify
    }

    /// Wakes every connection waiting out SQLITE_BUSY on this file: a lock may be free.
    /// Costs one atomic load when none waits, so it can follow every statement. A waiter
    /// counts itself (SeqCst) before it tries the lock, and a release is read here (SeqCst)
    /// after the lock was freed, so a waiter that could have missed the lock is seen; should
    /// a wake still be missed, the waiter's next pause ends its wait anyway.
    pub(crate) fn released(&self) {
        if self.has_waiters() {
            self.0.notify.notify_waiters();
        }
    }

    /// Counts this connection as waiting until the guard is dropped. Take it before trying
    /// the lock again.
    pub(crate) fn waiting(&self) -> Waiting {
        self.0.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(self.clone())
    }

    /// Whether some connection to this file is waiting out SQLITE_BUSY.
    pub(crate) fn has_waiters(&self) -> bool {
        self.0.waiting.load(Ordering::SeqCst) > 0
    }

    /// Starts the file's checkpoint thread if it is not running yet; whether it runs.
    pub(crate) fn checkpoint_in_background(&self) -> bool {
        let mut checkpoint = self.checkpoint();
        if let Checkpoint::NotAsked = *checkpoint {
            *checkpoint =
                Checkpointer::start(&self.0.path).map_or(Checkpoint::Off, Checkpoint::Running);
        }
        matches!(*checkpoint, Checkpoint::Running(_))
    }

    fn checkpoint(&self) -> std::sync::MutexGuard<'_, Checkpoint> {
        self.0
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A write transaction on the file has ended: wakes the checkpoint thread, if any.
    pub(crate) fn wrote(&self) {
        if let Checkpoint::Running(checkpointer) = &*self.checkpoint() {
            checkpointer.wrote();
        }
    }

    /// Called by a connection that has just closed its database: when it was the process's
    /// last connection to the file, ends the checkpoint thread and waits for its connection
    /// to close — the file's last, which checkpoints the WAL fully and removes it — so that
    /// the file is whole on disk when `close()` returns. Blocks: call it off the runtime.
    pub(crate) fn closed(self) {
        let last = {
            // Under the registry's lock no other connection can pick this entry up.
            let _files = FILES.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::strong_count(&self.0) == 1
        };
        if !last {
            return;
        }
        let ended = std::mem::replace(&mut *self.checkpoint(), Checkpoint::Off);
        if let Checkpoint::Running(checkpointer) = ended {
            checkpointer.finish();
        }
    }

    /// How many connections of this process wait in line at the write gate now.
    pub(crate) fn queued(&self) -> usize {
        self.0.queued.load(Ordering::SeqCst)
    }

    /// Adds the busy-handler calls the thread that ran a step saw ([`crate::busy::take_calls`]).
    pub(crate) fn note_busy_waits(&self, calls: u64) {
        if calls > 0 {
            self.0.busy_waits.fetch_add(calls, Ordering::Relaxed);
        }
    }

    /// How many times this process's connections to the file have waited in SQLite's busy
    /// handler (or declined to, inline) for another connection's lock.
    pub(crate) fn busy_waits(&self) -> u64 {
        self.0.busy_waits.load(Ordering::Relaxed)
    }

    /// Whether `self` and `other` are the locks of one file, for tests.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &FileLocks) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_signal_per_file_whatever_the_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.db");
        std::fs::write(&file, b"").unwrap();
        let a = FileLocks::for_file(&file);
        let b = FileLocks::for_file(&dir.path().join(".").join("a.db"));
        assert!(a.same_as(&b));
        let other = FileLocks::for_file(&dir.path().join("b.db"));
        assert!(!a.same_as(&other));
    }

    #[test]
    fn waiters_are_counted_while_their_guard_lives() {
        let dir = tempfile::tempdir().unwrap();
        let signal = FileLocks::for_file(&dir.path().join("d.db"));
        assert!(!signal.has_waiters());
        let first = signal.waiting();
        let second = signal.clone().waiting();
        drop(first);
        assert!(signal.has_waiters());
        drop(second);
        assert!(!signal.has_waiters());
    }

    #[tokio::test]
    async fn a_registered_waiter_is_woken() {
        let dir = tempfile::tempdir().unwrap();
        let signal = FileLocks::for_file(&dir.path().join("c.db"));
        let _waiting = signal.waiting();
        let mut notified = std::pin::pin!(signal.notify().notified());
        notified.as_mut().enable();
        signal.clone().released();
        tokio::time::timeout(std::time::Duration::from_secs(10), notified)
            .await
            .unwrap();
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_is_handed_out_in_order_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let locks = FileLocks::for_file(&dir.path().join("g.db"));
        let first = locks.try_gate().unwrap();
        assert!(locks.try_gate().is_none(), "one writer at a time");
        let mut queued = std::pin::pin!(locks.gate(Duration::from_secs(10)));
        // Polled once: now in line.
        let polled = tokio::time::timeout(Duration::ZERO, queued.as_mut()).await;
        assert!(polled.is_err(), "the gate is held");
        assert_eq!(locks.queued(), 1);
        drop(first);
        assert!(
            locks.try_gate().is_none(),
            "the waiter in line is served before a newcomer"
        );
        let second = queued.await.unwrap();
        assert_eq!(locks.queued(), 0);
        let e = locks.gate(Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LockTimeout);
        assert_eq!(e.code(), Some("SQLITE_BUSY"));
        assert!(e.to_string().contains("g.db"), "{e}");
        drop(second);
        assert!(locks.try_gate().is_some());
    }
}
