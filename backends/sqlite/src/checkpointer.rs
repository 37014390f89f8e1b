//! [`Checkpointer`]: WAL checkpoints of one database file, run by a thread of their own
//! instead of by whichever commit happens to push the WAL past SQLite's threshold.
//!
//! A checkpoint copies the WAL's pages into the database file and, with `synchronous =
//! NORMAL`, syncs both to disk: milliseconds, where a commit otherwise costs microseconds.
//! Left to SQLite, it runs inside the COMMIT that crosses `wal_autocheckpoint` (1000 pages),
//! with the write lock held, so that commit and every writer queued behind it wait for the
//! disk. Here each writing connection raises its threshold to [`SAFETY_NET_PAGES`] (still
//! checkpointing itself should this thread fall that far behind), and tells the thread after
//! each write transaction; the thread runs a PASSIVE checkpoint — which takes no write lock,
//! so writers go on meanwhile — [`MIN_INTERVAL`] after the last one, or sooner once
//! [`VOLUME`] write transactions have gone by (each writes at least a page, so the WAL stays
//! far below the safety net). Few checkpoints matter: each syncs two files, and a WAL page
//! being synced stalls the next commit that writes it; every 10 ms, the bank's p99 was six
//! times what it is at 100 ms.
//!
//! The thread keeps a connection of its own to the file, closed when the process's last
//! txkit connection to the file is gone; being the file's last connection, it then
//! checkpoints the WAL fully and removes it, as SQLite does at the last close.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;

/// `wal_autocheckpoint` of a writing connection while a checkpointer runs: a safety net.
pub(crate) const SAFETY_NET_PAGES: u32 = 10_000;

/// The pause between two checkpoints while writes go on, unless [`VOLUME`] comes first.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Write transactions after which a checkpoint runs without waiting out [`MIN_INTERVAL`].
const VOLUME: u64 = 1_000;

#[derive(Debug, Default)]
struct State {
    /// Write transactions ended since the last checkpoint.
    writes: u64,
    /// The file's last connection is gone: checkpoint once more and end.
    stop: bool,
}

/// A file's checkpointing thread; dropping this ends it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for the WAL database at `path` (it opens its own connection there,
    /// and ends at once should that fail: SQLite's own checkpoints then remain).
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let (path, state) = (path.to_owned(), Arc::clone(&shared));
        let started = std::thread::Builder::new()
            .name("txkit-sqlite-checkpoint".to_owned())
            .spawn(move || run(&path, &state));
        match started {
            Ok(thread) => Some(Self {
                shared,
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "txkit-sqlite could not start its checkpoint \
                                            thread; SQLite checkpoints at commit instead");
                None
            }
        }
    }

    /// A write transaction on the file has ended: the WAL has grown.
    pub(crate) fn wrote(&self) {
        let (state, wake) = &*self.shared;
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        state.writes += 1;
        if state.writes == 1 || state.writes == VOLUME {
            wake.notify_one();
        }
    }
}

impl Checkpointer {
    /// Ends the thread and waits until its connection is closed — the file's last, which
    /// checkpoints the WAL fully and removes it. Blocks: call it off the async runtime.
    pub(crate) fn finish(mut self) {
        self.stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("txkit-sqlite's checkpoint thread panicked");
        }
    }

    fn stop(&self) {
        let (state, wake) = &*self.shared;
        state.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        wake.notify_one();
    }
}

impl Drop for Checkpointer {
    /// Ends the thread without waiting for it.
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread's body.
fn run(path: &Path, shared: &(Mutex<State>, Condvar)) {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match rusqlite::Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "txkit-sqlite's checkpoint thread could not open the \
                                        database; SQLite checkpoints at commit instead");
            return;
        }
    };
    let (state, wake) = shared;
    let mut last = Instant::now();
    loop {
        let stop = {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            // The first write since the last checkpoint…
            while state.writes == 0 && !state.stop {
                state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            // …then the interval, or the volume, whichever comes first.
            let due = last + MIN_INTERVAL;
            while !state.stop && state.writes < VOLUME {
                let Some(left) = due.checked_duration_since(Instant::now()) else {
                    break;
                };
                state = wake
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.writes = 0;
            state.stop
        };
        if stop {
            break;
        }
        // PASSIVE: as much as it can without waiting for any lock; never blocks writers.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(2)
        });
        if let Err(e) = done {
            tracing::debug!(error = %e, "txkit-sqlite: a background checkpoint failed");
        }
        last = Instant::now();
    }
    // The last connection's close checkpoints the WAL fully and removes it.
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "txkit-sqlite's checkpoint connection did not close cleanly");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The WAL's pages reach the database file only by a checkpoint: with SQLite's own
    /// turned off, the file grows only once the thread has run one.
    #[test]
    fn checkpoints_after_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (x); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                 WHERE i < 2000) INSERT INTO t SELECT i FROM n;",
            )
            .unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        let checkpointer = Checkpointer::start(&path).unwrap();
        checkpointer.wrote();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while size() <= before {
            assert!(std::time::Instant::now() < deadline, "no checkpoint ran");
            std::thread::yield_now();
        }
        drop(checkpointer);
        drop(writer);
    }
}
