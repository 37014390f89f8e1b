//! Inline execution ([`Execution::Inline`](crate::Execution::Inline)): the rusqlite
//! connection lives inside the [`SqliteConnection`](crate::SqliteConnection), and each
//! statement runs on the thread of the task that awaits it. No thread hop per statement;
//! the runtime thread is busy for as long as the statement runs.
//!
//! Waiting for another connection's lock must not hold the runtime thread, so SQLite's
//! own busy handler (which sleeps) is replaced by [`decline_busy`]: it notes that SQLite
//! asked to wait and declines. The statement then fails with SQLITE_BUSY, and [`Inline::run`]
//! waits asynchronously — until another inline connection of this process releases a lock
//! ([`FileLocks`]), or at most SQLite's own next pause — and runs it again, until
//! busy_timeout has passed. SQLite calls the handler only where waiting and trying again is
//! safe (acquiring a lock the statement needs before it changes anything, or at COMMIT,
//! which stays pending); where waiting could deadlock it returns SQLITE_BUSY without calling
//! it, and that error reaches the caller at once, exactly as with a sleeping handler.

use std::pin::pin;
use std::time::{Duration, Instant};

use txkit_core::{Error, ErrorKind, Result};

use crate::busy::{self, PAUSES_MS};
use crate::file_locks::FileLocks;
use crate::native::Native;
use crate::options::SqliteConnectOptions;

/// How long to wait before try `tries + 1`, `waited` after the first SQLITE_BUSY: SQLite's
/// pauses, the last cut to what is left of busy_timeout; `None` once busy_timeout has
/// passed. (An inline connection of this process that releases the lock ends the wait
/// early: [`FileLocks`].)
pub(crate) fn next_pause(
    tries: usize,
    waited: Duration,
    busy_timeout: Duration,
) -> Option<Duration> {
    let left = busy_timeout.checked_sub(waited).filter(|d| !d.is_zero())?;
    let pause = Duration::from_millis(PAUSES_MS.get(tries).copied().unwrap_or(100));
    Some(pause.min(left))
}

/// After SQLITE_BUSY on try `tries + 1` of a wait that began at `started`: the pause before
/// the next try, or — busy_timeout having passed — `e` saying how long it waited.
pub(crate) fn pause_or_give_up(
    e: Error,
    tries: usize,
    started: Instant,
    busy_timeout: Duration,
) -> Result<Duration> {
    let waited = started.elapsed();
    next_pause(tries, waited, busy_timeout).ok_or_else(|| {
        tracing::debug!(
            waited_ms = waited.as_millis(),
            tries,
            "txkit-sqlite: busy_timeout passed while waiting for the lock"
        );
        e.context(format!(
            "waited {} ms (busy_timeout) for another connection's lock",
            waited.as_millis()
        ))
    })
}

/// One try of a step.
pub(crate) enum Attempt<T> {
    /// Its result, to hand to the caller.
    Done(Result<T>),
    /// SQLITE_BUSY where waiting and trying again is safe.
    Busy(Error),
}

/// An inline connection: the session, and whether it can still be trusted.
pub(crate) struct Inline {
    session: Native,
    broken: bool,
    /// How long the last step took SQLite (without any wait for a lock).
    last_step: Duration,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Inline {
    /// Opens the database on a blocking thread (opening and switching to WAL touch the disk
    /// and may wait for locks), then keeps the connection here.
    pub(crate) async fn open(options: SqliteConnectOptions) -> Result<Self> {
        let session = tokio::task::spawn_blocking(move || Native::open(options))
            .await
            .map_err(|e| {
                Error::connection_lost(format!("opening the SQLite database failed: {e}"))
            })??;
        Ok(Self {
            session,
            broken: false,
            last_step: Duration::ZERO,
        })
    }

    /// Runs `step` on this thread; while it fails because SQLite declined to wait for a
    /// lock, waits (asynchronously) and runs it again, up to busy_timeout. `step` must be
    /// one statement (or one that changes nothing when it fails with SQLITE_BUSY).
    ///
    /// After the first SQLITE_BUSY the connection listens for [`FileLocks`] and tries
    /// again at once (the lock may have been freed before it listened); from then on each
    /// wait ends when another inline connection of this process releases a lock, or after
    /// SQLite's next pause, whichever comes first.
    pub(crate) async fn run<T>(
        &mut self,
        mut step: impl FnMut(&mut Native) -> Result<T> + Send,
    ) -> Result<T> {
        if self.broken {
            return Err(broken_error());
        }
        self.take_turn().await;
        loop {
            let result = match self.attempt(&mut step) {
                Attempt::Done(result) => result,
                // Boxed: the waiting machinery stays out of the fast path's future.
                Attempt::Busy(_) => Box::pin(self.wait_out_busy(&mut step)).await,
            };
            if !self.session.take_gate_wanted() {
                return result;
            }
            // The step needed the write gate and did not run: wait in line, then again.
            Box::pin(self.wait_for_gate()).await?;
        }
    }

    /// Waits (asynchronously, in line) for the file's write gate, and hands it to the
    /// session. A future dropped here holds nothing.
    async fn wait_for_gate(&mut self) -> Result<()> {
        if let Some(permit) = self.gate().await? {
            self.session.hold_gate(permit);
        }
        Ok(())
    }

    /// Runs `step` once. `Busy` when it failed because SQLite declined to wait for a lock
    /// and trying again is safe.
    pub(crate) fn attempt<T>(&mut self, step: impl FnOnce(&mut Native) -> Result<T>) -> Attempt<T> {
        let was_in_transaction = self.session.in_transaction();
        busy::reset_declined();
        let started = Instant::now();
        let result = step(&mut self.session);
        self.last_step = started.elapsed();
        let declined = busy::take_declined();
        self.session.count_busy_waits();
        // A lock may have been released when a transaction ended, or when a statement
        // outside one ran. Not after a statement that failed outside one: that is this
        // connection's own BUSY, and it would wake its own wait at once.
        let may_have_released =
            !self.session.in_transaction() && (was_in_transaction || result.is_ok());
        self.after_step(may_have_released);
        match result {
            // SQLite may roll a whole transaction back on BUSY; then nothing is retried.
            Err(e)
                if declined
                    && e.kind() == ErrorKind::LockTimeout
                    && was_in_transaction == self.session.in_transaction() =>
            {
                Attempt::Busy(e)
            }
            other => Attempt::Done(other),
        }
    }

    /// After a first SQLITE_BUSY: listens for [`FileLocks`], tries again at once, then
    /// waits for a release or the next pause before each further try, up to busy_timeout.
    async fn wait_out_busy<T>(
        &mut self,
        step: &mut (impl FnMut(&mut Native) -> Result<T> + Send),
    ) -> Result<T> {
        let started = Instant::now();
        let busy_timeout = self.session.options().busy_timeout;
        tracing::debug!(
            busy_timeout_ms = busy_timeout.as_millis(),
            "txkit-sqlite: another connection holds the lock; waiting without blocking the \
             runtime"
        );
        let signal = self.session.locks().cloned();
        let _waiting = signal.as_ref().map(FileLocks::waiting);
        let mut tries = 0;
        loop {
            let mut released = pin!(signal.as_ref().map(|signal| signal.notify().notified()));
            if let Some(notified) = released.as_mut().as_pin_mut() {
                notified.enable();
            }
            let e = match self.attempt(&mut *step) {
                Attempt::Done(result) => return result,
                Attempt::Busy(e) => e,
            };
            let pause = pause_or_give_up(e, tries, started, busy_timeout)?;
            match released.as_pin_mut() {
                Some(notified) => {
                    // Woken early or not, the lock is tried again either way.
                    let _ = tokio::time::timeout(pause, notified).await;
                }
                None => tokio::time::sleep(pause).await,
            }
            tries += 1;
        }
    }

    /// Before a step, the yields that keep inline work from hogging its runtime thread
    /// (which a statement without awaits would otherwise never leave): one when the task has
    /// used up tokio's cooperative budget, and one before new work outside a transaction
    /// while other connections to the file wait for its lock, so that a task running
    /// transaction after transaction lets the woken waiters try first. Both come before the
    /// statement: a future dropped there has done nothing.
    async fn take_turn(&mut self) {
        tokio::task::coop::consume_budget().await;
        if !self.session.in_transaction()
            && self.session.locks().is_some_and(FileLocks::has_waiters)
        {
            tokio::task::yield_now().await;
        }
    }

    /// After every step: turns `query_only` off once a read-only transaction has ended,
    /// and tells waiting connections when a lock may be free.
    pub(crate) fn after_step(&mut self, may_have_released: bool) {
        if let Err(e) = self.session.after_command() {
            tracing::error!(error = %e, "txkit-sqlite could not end a read-only transaction \
                                         cleanly; the connection is broken");
            self.broken = true;
        }
        if may_have_released && let Some(locks) = self.session.locks() {
            locks.released();
        }
    }

    /// The file's locks (none for `:memory:`).
    pub(crate) fn locks(&self) -> Option<&FileLocks> {
        self.session.locks()
    }

    /// How long the last step took SQLite itself (not counting waits for a lock).
    pub(crate) fn last_step(&self) -> Duration {
        self.last_step
    }

    /// The session, for work run on a blocking thread.
    pub(crate) fn session_mut(&mut self) -> &mut Native {
        &mut self.session
    }

    /// Waits (asynchronously, in line) for the file's write gate; `None` for `:memory:`.
    /// (Returns a future that holds no borrow of the connection, whose session is not
    /// `Sync`.)
    pub(crate) fn gate(
        &self,
    ) -> impl Future<Output = Result<Option<crate::file_locks::GatePermit>>> + Send + 'static {
        let locks = self.session.locks().cloned();
        let timeout = self.session.options().busy_timeout;
        async move {
            match locks {
                Some(locks) => locks.gate(timeout).await.map(Some),
                None => Ok(None),
            }
        }
    }

    /// Whether the connection can no longer be trusted.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Marks the connection broken: it can no longer be trusted.
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Closes the database on a blocking thread (closing the last connection of a WAL
    /// database checkpoints it, which writes to disk).
    pub(crate) async fn close(self) {
        let session = self.session;
        if tokio::task::spawn_blocking(move || session.close())
            .await
            .is_err()
        {
            tracing::warn!("closing a SQLite connection failed: its blocking task ended early");
        }
    }
}

pub(crate) fn broken_error() -> Error {
    Error::connection_lost(
        "this SQLite connection could not end a read-only transaction cleanly and can no \
         longer be trusted; open a new connection",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_follow_sqlite_and_stop_at_the_timeout() {
        let timeout = Duration::from_millis(10);
        let ms = Duration::from_millis;
        assert_eq!(next_pause(0, ms(0), timeout), Some(ms(1)));
        assert_eq!(next_pause(2, ms(3), timeout), Some(ms(5)));
        // Cut to what is left, then nothing.
        assert_eq!(next_pause(3, ms(8), timeout), Some(ms(2)));
        assert_eq!(next_pause(4, timeout, timeout), None);
        assert_eq!(next_pause(0, ms(0), Duration::ZERO), None);
        // Past the table: 100 ms each.
        assert_eq!(
            next_pause(40, ms(0), Duration::from_secs(60)),
            Some(ms(100))
        );
    }

    /// The first connection creates the file; it must share the later ones' signal (a
    /// path that does not exist yet resolves to another key than the file once it does).
    #[tokio::test]
    async fn connections_to_a_new_file_share_one_signal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let roundabout = dir.path().join("sub").join("..").join("new.db");
        let options = SqliteConnectOptions::new(roundabout).execution(crate::Execution::Inline);
        let creator = Inline::open(options.clone()).await.unwrap();
        let second = Inline::open(options).await.unwrap();
        let third = Inline::open(
            SqliteConnectOptions::new(dir.path().join("new.db"))
                .execution(crate::Execution::Inline),
        )
        .await
        .unwrap();
        let (Some(a), Some(b), Some(c)) = (
            creator.session.locks(),
            second.session.locks(),
            third.session.locks(),
        ) else {
            panic!("file databases have a signal");
        };
        assert!(a.same_as(b) && a.same_as(c));
        for conn in [creator, second, third] {
            conn.close().await;
        }
    }
}
