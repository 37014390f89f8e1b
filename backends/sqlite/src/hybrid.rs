//! [`Hybrid`]: inline execution (statements on the awaiting task's thread, [`Inline`]) with
//! the work expected to be long moved to a blocking thread, so that no statement holds a
//! runtime thread for long:
//!
//! - a statement whose last run took SQLite longer than [`LONG_STATEMENT`] runs on a
//!   blocking thread from then on, until a run there is short again
//!   ([`LongStatements`]);
//! - scripts (`batch`: schema changes, migrations, `VACUUM`) always do;
//! - so do synchronous units of work ([`SyncTransaction`](crate::SyncTransaction)).
//!
//! While work runs on a blocking thread the connection is away: the next call waits for it
//! to come back first, even when the caller of the work stopped waiting (a dropped future).
//! That is how a worker thread's queue behaves, and what recovery after a cancelled
//! operation relies on.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use txkit_core::{Error, Result};

use crate::file_locks::GatePermit;
use crate::inline::{Attempt, Inline, broken_error, pause_or_give_up};
use crate::native::Native;
use crate::options::SqliteConnectOptions;

/// A statement whose run takes SQLite longer than this is run on a blocking thread from
/// then on: about what tokio advises a task to run between two awaits.
pub(crate) const LONG_STATEMENT: Duration = Duration::from_millis(1);

/// A long statement that runs in less than this on the blocking thread goes back to
/// running inline.
const SHORT_AGAIN: Duration = Duration::from_micros(250);

/// The statements (by their SQL text's hash) last seen to run long on one connection.
#[derive(Debug, Default)]
pub(crate) struct LongStatements {
    hasher: RandomState,
    long: HashSet<u64>,
}

impl LongStatements {
    /// At most this many are remembered (a connection running many different long
    /// statements forgets them all and learns again).
    const CAPACITY: usize = 256;

    fn key(&self, sql: &str) -> u64 {
        self.hasher.hash_one(sql)
    }

    /// Whether `sql` is expected to run long.
    pub(crate) fn expects_long(&self, sql: &str) -> bool {
        !self.long.is_empty() && self.long.contains(&self.key(sql))
    }

    /// Notes how long a run of `sql` took SQLite.
    pub(crate) fn observe(&mut self, sql: &str, took: Duration) {
        if took > LONG_STATEMENT {
            if self.long.len() >= Self::CAPACITY {
                self.long.clear();
            }
            let key = self.key(sql);
            if self.long.insert(key) {
                tracing::debug!(
                    took_us = took.as_micros(),
                    "txkit-sqlite: a statement ran long inline; it runs on a blocking thread \
                     from now on"
                );
            }
        } else if took < SHORT_AGAIN && !self.long.is_empty() {
            let key = self.key(sql);
            self.long.remove(&key);
        }
    }
}

/// An inline connection that moves long work to a blocking thread.
pub(crate) struct Hybrid {
    /// The connection, when it is here.
    here: Option<Inline>,
    /// The connection, while work runs on a blocking thread (it comes back with the
    /// thread's end). Neither here nor away: that thread panicked and the connection is
    /// lost.
    away: Option<JoinHandle<Inline>>,
    long: LongStatements,
}

impl std::fmt::Debug for Hybrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hybrid")
            .field("here", &self.here)
            .field("away", &self.away.is_some())
            .finish_non_exhaustive()
    }
}

impl Hybrid {
    /// Opens the database (on a blocking thread).
    pub(crate) async fn open(options: SqliteConnectOptions) -> Result<Self> {
        Ok(Self {
            here: Some(Inline::open(options).await?),
            away: None,
            long: LongStatements::default(),
        })
    }

    /// The file's locks (none for `:memory:`), read when the connection is opened.
    pub(crate) fn locks(&self) -> Option<&crate::file_locks::FileLocks> {
        self.here.as_ref().and_then(Inline::locks)
    }

    /// The connection, once any work on a blocking thread has given it back. A future
    /// dropped while waiting leaves the work where it was, to be waited for next time.
    async fn seat(&mut self) -> Result<&mut Inline> {
        if let Some(away) = &mut self.away {
            let back = away.await;
            self.away = None;
            match back {
                Ok(conn) => self.here = Some(conn),
                Err(e) => {
                    tracing::error!(error = %e, "txkit-sqlite: a blocking thread running a \
                                                 connection's work failed; the connection is lost");
                }
            }
        }
        self.here.as_mut().ok_or_else(lost_error)
    }

    /// Runs a step here, whatever it is (control statements, and the flush's statements,
    /// each short).
    pub(crate) async fn run_here<T>(
        &mut self,
        step: impl FnMut(&mut Native) -> Result<T> + Send,
    ) -> Result<T> {
        self.seat().await?.run(step).await
    }

    /// Runs one statement's step: here (`inline`), or on a blocking thread (a step `owned`
    /// makes) when `sql` is expected to run long; then notes how long it took.
    pub(crate) async fn run<T, F, G>(
        &mut self,
        sql: Option<&str>,
        inline: F,
        owned: impl Fn() -> G,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Native) -> Result<T> + Send,
        G: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        if let Some(sql) = sql
            && self.long.expects_long(sql)
        {
            return self.off_thread(Some(sql), owned).await;
        }
        let conn = self.seat().await?;
        let result = conn.run(inline).await;
        let took = conn.last_step();
        if let Some(sql) = sql {
            self.long.observe(sql, took);
        }
        result
    }

    /// Runs the step `make()` gives on a blocking thread. When it stopped for the write gate
    /// or for another connection's lock, waits here (asynchronously) and sends a fresh one.
    pub(crate) async fn off_thread<T, G>(
        &mut self,
        sql: Option<&str>,
        make: impl Fn() -> G,
    ) -> Result<T>
    where
        T: Send + 'static,
        G: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        let mut permit: Option<GatePermit> = None;
        let mut busy_since: Option<Instant> = None;
        let mut tries = 0;
        loop {
            let step = make();
            let held = permit.take();
            let (attempt, wanted, took) = self
                .on_blocking_thread(move |conn| {
                    if let Some(permit) = held {
                        conn.session_mut().hold_gate(permit);
                    }
                    let attempt = conn.attempt(step);
                    let wanted = conn.session_mut().take_gate_wanted();
                    (attempt, wanted, conn.last_step())
                })
                .await?;
            if let Some(sql) = sql {
                self.long.observe(sql, took);
            }
            let e = match attempt {
                Attempt::Done(result) if !wanted => return result,
                Attempt::Done(_) => {
                    permit = self.seat().await?.gate().await?;
                    continue;
                }
                Attempt::Busy(e) => e,
            };
            // Another process's lock (or, outside WAL, a reader's): SQLite's pauses.
            let started = *busy_since.get_or_insert_with(Instant::now);
            let busy_timeout = self.seat().await?.session_mut().options().busy_timeout;
            let pause = pause_or_give_up(e, tries, started, busy_timeout)?;
            tokio::time::sleep(pause).await;
            tries += 1;
        }
    }

    /// Runs a unit of work (a whole transaction, [`SyncTransaction`](crate::SyncTransaction))
    /// on a blocking thread, after waiting here for the write gate unless it is
    /// `read_only`. On that thread the connection waits for other processes' locks with
    /// SQLite's own sleeping busy handler, as a thread of its own would.
    pub(crate) async fn unit<T>(
        &mut self,
        read_only: bool,
        unit: impl FnOnce(&mut Native) -> Result<T> + Send + 'static,
    ) -> Result<T>
    where
        T: Send + 'static,
    {
        let permit = match read_only {
            true => None,
            false => self.seat().await?.gate().await?,
        };
        self.on_blocking_thread(move |conn| {
            let session = conn.session_mut();
            if let Some(permit) = permit {
                session.hold_gate(permit);
            }
            let result = session.sleep_on_busy(true).and_then(|()| unit(session));
            let restored = session.sleep_on_busy(false);
            // Cannot be set: the gate was held, or the unit is read-only.
            session.take_gate_wanted();
            conn.after_step(true);
            if let Err(e) = restored {
                tracing::error!(error = %e, "txkit-sqlite could not restore the inline busy \
                                             handler; the connection is broken");
                conn.mark_broken();
            }
            result
        })
        .await?
    }

    /// Runs `work` with the connection on a blocking thread and waits for its answer. If
    /// this future is dropped, the work still runs to its end, and the next call waits for
    /// it.
    pub(crate) async fn on_blocking_thread<R, F>(&mut self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Inline) -> R + Send + 'static,
    {
        if self.seat().await?.is_broken() {
            return Err(broken_error());
        }
        let Some(mut conn) = self.here.take() else {
            return Err(lost_error());
        };
        let (reply, answer) = oneshot::channel();
        self.away = Some(tokio::task::spawn_blocking(move || {
            // The caller may have gone; the work is done either way.
            let _ = reply.send(work(&mut conn));
            conn
        }));
        let answer = answer.await;
        // Back at once: the thread is finishing.
        self.seat().await?;
        answer.map_err(|_| lost_error())
    }

    /// The connection's inline side, mutably, when it is here (for tests).
    #[cfg(test)]
    pub(crate) fn inline_mut(&mut self) -> Option<&mut Inline> {
        self.here.as_mut()
    }

    /// Whether the connection can no longer be trusted: its blocking thread was lost (it is
    /// neither here nor away), or its inline side is broken. A connection away on a
    /// blocking thread answers for itself when it comes back.
    pub(crate) fn is_broken(&self) -> bool {
        match &self.here {
            Some(conn) => conn.is_broken(),
            None => self.away.is_none(),
        }
    }

    /// Closes the database once any work on a blocking thread is done.
    pub(crate) async fn close(mut self) {
        if self.seat().await.is_ok()
            && let Some(conn) = self.here.take()
        {
            conn.close().await;
        }
    }
}

fn lost_error() -> Error {
    Error::connection_lost(
        "the blocking thread running this SQLite connection's work failed (it panicked), \
         which leaves the connection in an unknown state; open a new connection",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A query that takes SQLite well over a millisecond.
    const LONG: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                        WHERE i < 300000) SELECT count(*) FROM n";

    async fn query(conn: &mut Hybrid, sql: &'static str) -> i64 {
        let rows = conn
            .run(
                Some(sql),
                |s| s.query(sql, &[]),
                || move |s: &mut Native| s.query(sql, &[]),
            )
            .await
            .unwrap();
        rows[0].get::<i64>(0).unwrap()
    }

    /// Runs `sql` while a task of this one-thread runtime waits to set a flag: the flag is
    /// set by the time the answer is back only if the statement left the runtime thread.
    async fn left_the_runtime(conn: &mut Hybrid, sql: &'static str) -> bool {
        let flag = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let flag = Arc::clone(&flag);
            async move { flag.store(true, Ordering::SeqCst) }
        });
        query(conn, sql).await;
        let left = flag.load(Ordering::SeqCst);
        task.await.unwrap();
        left
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_statement_that_ran_long_runs_on_a_blocking_thread_next() {
        let mut conn = Hybrid::open(SqliteConnectOptions::memory()).await.unwrap();
        assert!(
            !left_the_runtime(&mut conn, "SELECT 1").await,
            "short: inline"
        );
        assert!(
            !left_the_runtime(&mut conn, LONG).await,
            "not known yet: inline"
        );
        assert!(conn.long.expects_long(LONG));
        assert!(
            left_the_runtime(&mut conn, LONG).await,
            "known long: off the runtime"
        );
        assert_eq!(query(&mut conn, LONG).await, 300_000);
        assert!(!left_the_runtime(&mut conn, "SELECT 1").await);
        conn.close().await;
    }

    /// A call dropped while it waits for the connection to come back from a blocking thread
    /// leaves it away, to be waited for by the next call — not lost.
    #[tokio::test(flavor = "current_thread")]
    async fn a_call_dropped_while_the_connection_is_away_loses_nothing() {
        let mut conn = Hybrid::open(SqliteConnectOptions::memory()).await.unwrap();
        let (go_on, go) = std::sync::mpsc::channel::<()>();
        let held = conn.on_blocking_thread(move |_| {
            // Held on the blocking thread until the test lets it go (bounded).
            go.recv_timeout(std::time::Duration::from_secs(20)).ok();
        });
        let polled = tokio::time::timeout(Duration::ZERO, held).await;
        assert!(polled.is_err(), "the work is held");
        let waiting = conn.run_here(|s| s.query("SELECT 1", &[]));
        let polled = tokio::time::timeout(Duration::ZERO, waiting).await;
        assert!(polled.is_err(), "the connection is away");
        assert!(!conn.is_broken());
        go_on.send(()).unwrap();
        assert_eq!(query(&mut conn, "SELECT 1").await, 1);
        assert!(!conn.is_broken());
        conn.close().await;
    }

    #[test]
    fn long_statements_are_learned_and_unlearned() {
        let mut long = LongStatements::default();
        let scan = "SELECT sum(x) FROM big";
        assert!(!long.expects_long(scan));
        long.observe(scan, Duration::from_millis(5));
        assert!(long.expects_long(scan));
        assert!(!long.expects_long("SELECT 1"));
        long.observe(scan, Duration::from_micros(500));
        assert!(long.expects_long(scan), "in between: still long");
        long.observe(scan, Duration::from_micros(10));
        assert!(!long.expects_long(scan));
    }

    #[test]
    fn long_statements_are_bounded() {
        let mut long = LongStatements::default();
        for i in 0..=LongStatements::CAPACITY {
            long.observe(&format!("SELECT {i}"), Duration::from_millis(2));
        }
        assert!(long.long.len() <= LongStatements::CAPACITY);
    }
}
